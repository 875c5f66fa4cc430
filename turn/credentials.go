// Package turn is the embedded STUN/TURN server of calls: pion/turn over
// UDP, TCP and TLS, short-lived credentials in the TURN REST API scheme
// that coturn and browsers know, a peer filter that keeps relays away from
// internal addresses, and per-user, total and bandwidth quotas.
package turn

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors from ParseUsername and Verify.
var (
	ErrBadUsername = errors.New("TURN username must be <unix-expiry>:<user-id>")
	ErrExpired     = errors.New("TURN credentials expired")
	ErrBadPassword = errors.New("TURN password does not match")
)

// Credentials returns a TURN REST API username and password for userID,
// valid until now+ttl: username "<unix-expiry>:<user-id>", password
// base64(HMAC-SHA1(secret, username)). Any TURN server that shares the
// secret (ours, or coturn with use-auth-secret) accepts them until expiry.
func Credentials(secret []byte, userID string, ttl time.Duration, now time.Time) (username, password string) {
	username = strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + userID
	return username, Password(secret, username)
}

// Password is base64(HMAC-SHA1(secret, username)).
func Password(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ParseUsername splits a REST API username into its expiry and user id.
// The user id part may be empty (coturn's turnutils send just a number).
func ParseUsername(username string) (expiry time.Time, userID string, err error) {
	if len(username) > 256 {
		return time.Time{}, "", ErrBadUsername
	}
	ts, id, _ := strings.Cut(username, ":")
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n <= 0 || len(ts) > 12 {
		return time.Time{}, "", fmt.Errorf("%w: %q", ErrBadUsername, username)
	}
	return time.Unix(n, 0), id, nil
}

// Verify checks a username and password pair at time now.
func Verify(secret []byte, username, password string, now time.Time) (userID string, err error) {
	expiry, id, err := ParseUsername(username)
	if err != nil {
		return "", err
	}
	if now.After(expiry) {
		return "", ErrExpired
	}
	if !hmac.Equal([]byte(Password(secret, username)), []byte(password)) {
		return "", ErrBadPassword
	}
	return id, nil
}
