package turn

import (
	"errors"
	"testing"
	"time"
)

func TestCredentials(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1_800_000_000, 0)
	user, pass := Credentials(secret, "u123", time.Hour, now)
	if user != "1800003600:u123" {
		t.Fatalf("username %q", user)
	}
	// The same value coturn computes for use-auth-secret:
	// echo -n 1800003600:u123 | openssl dgst -binary -sha1 -hmac s3cret | base64
	if pass != "HpbrAGzk/p+5KxQjpJaiPdljOVw=" {
		t.Fatalf("password %q", pass)
	}
	cases := []struct {
		name     string
		user     string
		pass     string
		at       time.Time
		wantErr  error
		wantUser string
	}{
		{"valid", user, pass, now, nil, "u123"},
		{"expired", user, pass, now.Add(2 * time.Hour), ErrExpired, ""},
		{"wrong password", user, "AAAA", now, ErrBadPassword, ""},
		{"other secret", user, Password([]byte("other"), user), now, ErrBadPassword, ""},
		{"no expiry", "u123", pass, now, ErrBadUsername, ""},
		{"negative", "-5:u", pass, now, ErrBadUsername, ""},
		{"bare number", "1800003600", Password(secret, "1800003600"), now, nil, ""},
	}
	for _, c := range cases {
		id, err := Verify(secret, c.user, c.pass, c.at)
		if !errors.Is(err, c.wantErr) || id != c.wantUser {
			t.Errorf("%s: Verify = %q, %v; want %q, %v", c.name, id, err, c.wantUser, c.wantErr)
		}
	}
}

func FuzzParseUsername(f *testing.F) {
	for _, s := range []string{"1800003600:u123", "", ":", "1:", "99999999999999999999:x", "-1:a", "1e9:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		exp, id, err := ParseUsername(s)
		if err == nil && (exp.Unix() <= 0 || len(id) > len(s)) {
			t.Fatalf("accepted %q as %v %q", s, exp, id)
		}
	})
}
