package loadtest

import (
	"encoding/binary"
	"math/rand/v2"
)

// Every media payload the load test sends ends in a 12-byte stamp: a magic
// word (so packets of other clients in the same call are ignored) and the
// send time in nanoseconds since the run's epoch (a monotonic clock shared
// by every participant of this process).
const (
	stampLen   = 12
	stampMagic = 0x4c54_5331 // "LTS1"
)

func putStamp(p []byte, sentNs int64) {
	t := p[len(p)-stampLen:]
	binary.BigEndian.PutUint32(t, stampMagic)
	binary.BigEndian.PutUint64(t[4:], uint64(sentNs))
}

// readStamp returns the send time of a payload, or false for a payload
// that carries none.
func readStamp(p []byte) (int64, bool) {
	if len(p) < stampLen {
		return 0, false
	}
	t := p[len(p)-stampLen:]
	if binary.BigEndian.Uint32(t) != stampMagic {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(t[4:])), true
}

// rtpPayload finds the payload of a plain RTP packet (RFC 3550 §5.1):
// after the CSRCs and the header extension, before any padding.
func rtpPayload(b []byte) (seq uint16, payload []byte, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, nil, false
	}
	seq = binary.BigEndian.Uint16(b[2:])
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // extension: 4-byte header, then length in words
		if len(b) < off+4 {
			return 0, nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > 0 { // padding: the last byte counts it
		end -= int(b[end-1])
	}
	if off > end {
		return 0, nil, false
	}
	return seq, b[off:end], true
}

// opusPayload fills buf with an Opus-shaped 20 ms packet of 80–120 bytes
// (a CELT fullband TOC byte, then noise) and returns it, stamped.
func opusPayload(buf []byte, rng *rand.Rand, sentNs int64) []byte {
	n := 80 + rng.IntN(41)
	p := buf[:n]
	p[0] = 0xfc // TOC: config 31 (CELT FB 20 ms), mono, one frame
	putStamp(p, sentNs)
	return p
}

// maxVideoPayload keeps packets, with SRTP and headers, under a 1200-byte
// path MTU, as browsers do.
const maxVideoPayload = 1100

// vp8Frame cuts one generated frame of size bytes into RTP payloads with
// the VP8 payload descriptor (RFC 7741): the first starts the partition
// (S=1) and carries the frame header, whose P bit is 0 for a keyframe, so
// the server's keyframe detection sees what a browser would send. Each
// payload is stamped. The payloads share buf.
func vp8Frame(buf []byte, out [][]byte, size int, key bool, sentNs int64) [][]byte {
	out = out[:0]
	size = max(size, stampLen+4)
	for off := 0; off < size; off += maxVideoPayload {
		n := min(maxVideoPayload, size-off) + 1 // + the descriptor byte
		n = max(n, stampLen+4)
		start := len(out) * (maxVideoPayload + 1)
		p := buf[start : start+n]
		if off == 0 {
			p[0] = 0x10 // S=1, partition 0
			if key {
				p[1] = 0x00 // P=0: keyframe; then the start code and a size
				p[2], p[3], p[4] = 0x9d, 0x01, 0x2a
			} else {
				p[1] = 0x01
			}
		} else {
			p[0] = 0x00
		}
		putStamp(p, sentNs)
		out = append(out, p)
	}
	return out
}

// vp8Buffer is large enough for the payloads of a frame of size bytes.
func vp8Buffer(size int) []byte {
	packets := (max(size, stampLen+4) + maxVideoPayload - 1) / maxVideoPayload
	return make([]byte, packets*(maxVideoPayload+1))
}
