package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"calls/server/loadtest"
)

// TestLoadtestCLIJSON runs `calls loadtest --json` as an operator would,
// against a real `calls serve`, at the smallest scale (one call of two
// participants, one speaking, for 2 s): it exits 0, stdout is the JSON
// report and nothing else (progress goes to stderr), everyone connected,
// media arrived, and what the run created was removed.
func TestLoadtestCLIJSON(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	add := calls("user", "add", "admin", "--admin", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("admin-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	srv, url, log := startServe(t, data)
	t.Cleanup(func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() })

	lt := calls("loadtest", "--url", url, "--admin-user", "admin", "--admin-password", "admin-password",
		"--calls", "1", "--participants", "2", "--speakers", "1", "--duration", "2s", "--json")
	var stdout, stderr bytes.Buffer
	lt.Stdout, lt.Stderr = &stdout, &stderr
	if err := lt.Run(); err != nil {
		t.Fatalf("calls loadtest: %v\nstderr:\n%s\nserver:\n%s", err, stderr.String(), log)
	}
	var rep loadtest.Report
	out := stdout.String()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	if rest := strings.TrimSpace(out[dec.InputOffset():]); rest != "" {
		t.Fatalf("more than the report on stdout: %q", rest)
	}
	p := rep.Participants
	if p.Wanted != 2 || p.Connected != p.Wanted || p.Failed != 0 {
		t.Fatalf("participants: wanted %d, connected %d, failed %d (%v)", p.Wanted, p.Connected, p.Failed, p.Errors)
	}
	if rep.Calls != 1 || rep.ParticipantsPerCall != 2 || rep.Media.PacketsReceived == 0 {
		t.Fatalf("report: %d calls × %d, %d packets received", rep.Calls, rep.ParticipantsPerCall, rep.Media.PacketsReceived)
	}
	if rep.Cleanup != "ok" {
		t.Fatalf("cleanup: %s", rep.Cleanup)
	}
	if stderr.Len() == 0 {
		t.Error("no progress on stderr")
	}
}
