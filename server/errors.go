package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"calls/server/auth"
	"calls/store"
)

// apiError is an error with the HTTP status and machine code a client sees.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

var (
	errUnauthorized = errorf(http.StatusUnauthorized, "unauthorized", "log in first")
	errForbidden    = errorf(http.StatusForbidden, "forbidden", "you are not allowed to do that")
	errNotFound     = errorf(http.StatusNotFound, "not_found", "not found")
)

// writeError is the one place errors become HTTP answers. Known errors map
// to their status; anything else is a 500 whose detail stays in the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = errNotFound
	case errors.Is(err, store.ErrConflict):
		ae = errorf(http.StatusConflict, "conflict", "%s", err.Error())
	case errors.Is(err, auth.ErrPasswordTooShort), errors.Is(err, auth.ErrPasswordTooLong):
		ae = errorf(http.StatusBadRequest, "invalid_password", "%s", err.Error())
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, "internal", "internal error; the server log has details")
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(ae.RetryAfter.Seconds())))
	}
	writeJSON(w, ae.Status, map[string]string{"error": ae.Message, "code": ae.Code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// maxJSONBody caps JSON request bodies; uploads have their own limit.
const maxJSONBody = 1 << 20

// readJSON decodes a JSON request body into v with a size cap.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "request body is over %d bytes", maxJSONBody)
		}
		return errorf(http.StatusBadRequest, "bad_json", "request body must be JSON: %v", err)
	}
	return nil
}
