package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.NewEncoding("ybndrfg8ejkmcpqxot1uwisza345h769").WithPadding(base32.NoPadding)

// NewID returns a random 26-character identifier (128 bits, z-base-32), the
// same shape Mattermost uses, safe in URLs and file names.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of an identifier from NewID, so
// handlers can reject garbage before it reaches SQL.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	return strings.Trim(s, "ybndrfg8ejkmcpqxot1uwisza345h769") == ""
}
