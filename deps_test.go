package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// advisory is a range of a module's versions with a known flaw that matters
// to this program: versions v with from <= v < fixed are refused.
type advisory struct {
	module, from, fixed, why string
}

// advisories lists the flaws checked by TestDependencyAdvisories. Add a
// line when an advisory touches a module in go.mod.
var advisories = []advisory{
	{"github.com/pion/interceptor", "v0.1.36", "v0.1.39",
		"a crafted RTP packet with padding panics the NACK/report interceptors"},
	{"github.com/pion/dtls/v2", "v0.0.0", "v2.2.12",
		"DTLS fixes up to the last v2 patch release (handshake and record-layer bugs)"},
}

// TestDependencyAdvisories lists the module versions this build selects
// (go.mod holds the full selected set) and fails on any version inside a
// known advisory range. scripts/deps-check.sh runs it on its own.
func TestDependencyAdvisories(t *testing.T) {
	mods, err := readGoMod("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no modules read from go.mod")
	}
	for _, m := range mods {
		t.Logf("%s %s", m[0], m[1])
	}
	for _, problem := range checkAdvisories(mods) {
		t.Error(problem)
	}
}

// checkAdvisories says which of mods fall in an advisory range.
func checkAdvisories(mods [][2]string) []string {
	var problems []string
	for _, a := range advisories {
		v, ok := lookup(mods, a.module)
		if !ok {
			continue
		}
		if semverLess(v, a.fixed) && !semverLess(v, a.from) {
			problems = append(problems, fmt.Sprintf("%s %s is in an advisory range [%s, %s): %s; upgrade to %s or later",
				a.module, v, a.from, a.fixed, a.why, a.fixed))
		}
	}
	return problems
}

// The check catches a flawed version in a go.mod like ours.
func TestAdvisoryCheckCatchesBadVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "go.mod")
	os.WriteFile(path, []byte("module x\n\ngo 1.26\n\nrequire github.com/pion/webrtc/v3 v3.3.6\n\nrequire (\n"+
		"\tgithub.com/pion/interceptor v0.1.37\n\tgithub.com/pion/dtls/v2 v2.2.7 // indirect\n)\n"), 0o600)
	mods, err := readGoMod(path)
	if err != nil || len(mods) != 3 {
		t.Fatalf("read %v %v", mods, err)
	}
	if problems := checkAdvisories(mods); len(problems) != 2 {
		t.Fatalf("problems: %q", problems)
	}
	if problems := checkAdvisories([][2]string{{"github.com/pion/interceptor", "v0.1.35"}, {"github.com/pion/dtls/v2", "v2.2.12"}}); len(problems) != 0 {
		t.Fatalf("false alarm: %q", problems)
	}
}

func TestSemverLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"v0.1.36", "v0.1.39", true}, {"v0.1.39", "v0.1.39", false}, {"v0.1.51", "v0.1.39", false},
		{"v2.2.11", "v2.2.12", true}, {"v2.10.0", "v2.2.12", false}, {"v1.0.0-rc1", "v1.0.0", true},
		{"v0.0.0-20240521201337-686a1a2994c1", "v0.0.1", true},
	} {
		if got := semverLess(c.a, c.b); got != c.less {
			t.Errorf("semverLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func lookup(mods [][2]string, module string) (string, bool) {
	for _, m := range mods {
		if m[0] == module {
			return m[1], true
		}
	}
	return "", false
}

// readGoMod returns the (module, version) pairs of go.mod's require lines.
func readGoMod(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mods [][2]string
	inBlock := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		if fs := strings.Fields(line); len(fs) == 2 {
			mods = append(mods, [2]string{fs[0], fs[1]})
		}
	}
	return mods, sc.Err()
}

// semverLess compares two module versions (vMAJOR.MINOR.PATCH[-pre]); a
// pre-release sorts before its release.
func semverLess(a, b string) bool {
	pa, prea := splitVersion(a)
	pb, preb := splitVersion(b)
	for i := range 3 {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	switch {
	case prea == preb:
		return false
	case prea == "":
		return false
	case preb == "":
		return true
	}
	return prea < preb
}

func splitVersion(v string) ([3]int, string) {
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "+")
	core, pre, _ := strings.Cut(v, "-")
	var n [3]int
	for i, p := range strings.SplitN(core, ".", 3) {
		n[i], _ = strconv.Atoi(p)
	}
	return n, pre
}
