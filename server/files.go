package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"calls/server/filestore"
	"calls/store"
)

// uploadFiles takes multipart "file" parts, streaming each into the blob
// store (never wholly into memory) within --max-upload, then records them.
func (s *Server) uploadFiles(w http.ResponseWriter, r *http.Request, p *principal) {
	rm, err := s.roomFor(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := rm.canPost(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if ok, wait := s.uploadLimit.Allow(p.User.ID); !ok {
		s.metrics.rateLimited.WithLabelValues("upload").Inc()
		s.writeError(w, r, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many uploads; wait a little", RetryAfter: wait})
		return
	}
	// A large upload on a slow link outlasts the server's read timeout, and
	// the reply comes after it, past the write timeout (which runs from the
	// start of the request): without both, the file is stored and the
	// client gets a closed connection instead of the reply.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.HTTPTimeouts.Transfer))
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.HTTPTimeouts.Transfer + s.cfg.HTTPTimeouts.Write))
	const maxFiles = 10
	maxUpload := int64(s.settingInt("max_upload_bytes")) // --max-upload, or the admin's setting
	r.Body = http.MaxBytesReader(w, r.Body, maxFiles*(maxUpload+64<<10))
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_upload", "send multipart/form-data with one or more \"file\" parts"))
		return
	}
	var files []*store.File
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.writeError(w, r, uploadError(err, maxUpload))
			return
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		if len(files) == maxFiles {
			s.writeError(w, r, errorf(http.StatusBadRequest, "too_many_files", "at most %d files per upload", maxFiles))
			return
		}
		name := filestore.SafeName(part.FileName())
		blob, err := s.files.Put(part, name, maxUpload)
		part.Close()
		if err != nil {
			s.writeError(w, r, uploadError(err, maxUpload))
			return
		}
		f := &store.File{SHA256: blob.SHA256, Name: name, Size: blob.Size, ContentType: blob.ContentType,
			UserID: p.User.ID, ChannelID: rm.ID}
		if err := s.store.CreateFile(r.Context(), f); err != nil {
			s.writeError(w, r, err)
			return
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_upload", "no \"file\" part in the upload"))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"files": files})
}

func uploadError(err error, max int64) error {
	var mbe *http.MaxBytesError
	if errors.Is(err, filestore.ErrTooLarge) || errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "a file is over the %d MB limit", max/1_000_000)
	}
	return errorf(http.StatusBadRequest, "bad_upload", "upload failed: %v", err)
}

// getFile serves a file to readers of its room. The type was sniffed and
// made safe at upload; nosniff and a sandboxing CSP make sure an uploaded
// page can never run as our origin.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		s.writeError(w, r, errNotFound)
		return
	}
	f, err := s.store.FileByID(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.room(r.Context(), p.User, f.ChannelID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.PostID == "" && f.UserID != p.User.ID {
		s.writeError(w, r, errNotFound) // not yet posted: only its uploader sees it
		return
	}
	blob, err := s.files.Open(f.SHA256)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer blob.Close()
	disposition := filestore.ContentDisposition(f.Name, f.ContentType)
	if r.URL.Query().Get("download") == "1" {
		disposition = "attachment" + strings.TrimPrefix(strings.TrimPrefix(disposition, "inline"), "attachment")
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", disposition)
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("ETag", `"`+f.SHA256[:32]+`"`)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.HTTPTimeouts.Transfer))
	http.ServeContent(w, r, "", f.CreatedAt, blob)
}
