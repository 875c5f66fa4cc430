// Package auth holds the credentials primitives of calls: password hashing
// with argon2id and random session tokens that are stored only as hashes.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Password length limits. The upper bound stops a megabyte "password" from
// being fed to the hash (a cheap CPU/memory denial of service).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

var (
	ErrPasswordTooShort = fmt.Errorf("password must be at least %d characters", MinPasswordLen)
	ErrPasswordTooLong  = fmt.Errorf("password must be at most %d bytes", MaxPasswordLen)
	errBadHash          = errors.New("unrecognised password hash")
)

// argon2id parameters: OWASP's 19 MiB, 2 passes, 1 lane — about 30 ms on a
// small ARM board, little enough that a Raspberry Pi handles a login burst.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// CheckPassword validates a new password's length.
func CheckPassword(pw string) error {
	if len(pw) > MaxPasswordLen {
		return ErrPasswordTooLong
	}
	if len([]rune(pw)) < MinPasswordLen {
		return ErrPasswordTooShort
	}
	return nil
}

// HashPassword returns an encoded argon2id hash in the PHC string format.
func HashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the encoded hash. Oversized
// input is rejected before any hashing work.
func VerifyPassword(encoded, pw string) bool {
	if len(pw) > MaxPasswordLen || encoded == "" {
		return false
	}
	var m, t uint32
	var p uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when the user does not exist, so a login
// for an unknown name costs the same time as a wrong password. It is made
// on first use: hashing at start-up would cost 19 MiB and tens of ms.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not-a-real-password")
	return h
})

// BurnVerify spends the time of one VerifyPassword.
func BurnVerify(pw string) { VerifyPassword(dummyHash(), pw) }

// NewToken returns a random 256-bit session token (URL-safe base64) and the
// hex SHA-256 under which it is stored.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
