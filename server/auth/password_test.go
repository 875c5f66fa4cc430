package auth

import (
	"strings"
	"testing"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q is not argon2id", h)
	}
	cases := []struct {
		pw   string
		want bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
		{strings.Repeat("x", MaxPasswordLen+1), false},
	}
	for _, c := range cases {
		if got := VerifyPassword(h, c.pw); got != c.want {
			t.Errorf("VerifyPassword(%.20q) = %v, want %v", c.pw, got, c.want)
		}
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: salt missing")
	}
}

func TestCheckPassword(t *testing.T) {
	if err := CheckPassword("short"); err != ErrPasswordTooShort {
		t.Errorf("short: %v", err)
	}
	if err := CheckPassword(strings.Repeat("a", 257)); err != ErrPasswordTooLong {
		t.Errorf("long: %v", err)
	}
	if _, err := HashPassword(strings.Repeat("a", 257)); err != ErrPasswordTooLong {
		t.Errorf("hash long: %v", err)
	}
}

func TestVerifyRejectsGarbageHash(t *testing.T) {
	for _, h := range []string{"", "$argon2id$", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "$bcrypt$x"} {
		if VerifyPassword(h, "password123") {
			t.Errorf("VerifyPassword(%q) = true", h)
		}
	}
}

func TestTokens(t *testing.T) {
	a, ha := NewToken()
	b, _ := NewToken()
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if HashToken(a) != ha || ha == a {
		t.Fatal("hash mismatch")
	}
}
