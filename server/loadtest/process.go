package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// usage is a process's CPU time and memory at one moment.
type usage struct {
	at      time.Time
	cpu     time.Duration // user + system
	rss     int64         // bytes
	peakRSS int64         // bytes; 0 where unknown
}

// probe samples the server's usage: from /proc when the server runs on
// this machine (exact, and free for the server), else from its /metrics.
type probe interface {
	sample(ctx context.Context) (usage, error)
	source() string
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

type procProbe struct{ pid int }

func (p procProbe) source() string { return fmt.Sprintf("/proc/%d", p.pid) }

func (p procProbe) sample(context.Context) (usage, error) {
	return procUsage(strconv.Itoa(p.pid))
}

// procUsage reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status
// (VmRSS, VmHWM).
func procUsage(pid string) (usage, error) {
	u := usage{at: time.Now()}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return u, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. Then state is field 3, utime 14, stime 15 (1-based).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return u, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return u, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = time.Duration(ut+st) * time.Second / clockTicks
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return u, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			u.rss = kb * 1024
		case "VmHWM":
			u.peakRSS = kb * 1024
		}
	}
	return u, nil
}

// metricsProbe reads process_cpu_seconds_total and
// process_resident_memory_bytes from the server's Prometheus endpoint.
type metricsProbe struct {
	url    string
	client *http.Client
}

func (m metricsProbe) source() string { return m.url }

func (m metricsProbe) sample(ctx context.Context) (usage, error) {
	u := usage{}
	req, err := http.NewRequestWithContext(ctx, "GET", m.url, nil)
	if err != nil {
		return u, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return u, err
	}
	defer resp.Body.Close()
	u.at = time.Now()
	if resp.StatusCode != http.StatusOK {
		return u, fmt.Errorf("GET %s: %s", m.url, resp.Status)
	}
	var haveCPU bool
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s, err := strconv.ParseFloat(val, 64)
			if err == nil {
				u.cpu, haveCPU = time.Duration(s*float64(time.Second)), true
			}
		case "process_resident_memory_bytes":
			f, _ := strconv.ParseFloat(val, 64)
			u.rss = int64(f)
		}
	}
	if !haveCPU {
		return u, fmt.Errorf("GET %s: no process_cpu_seconds_total", m.url)
	}
	return u, sc.Err()
}

// listeningPID finds the process listening on a local TCP port, through
// /proc/net/tcp{,6} (the socket's inode) and /proc/*/fd (who holds it).
func listeningPID(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no process listens on TCP port %d here", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	self := os.Getpid()
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil || pid == self {
			continue
		}
		fds, _ := os.ReadDir(dir + "/fd")
		for _, fd := range fds {
			if target, err := os.Readlink(dir + "/fd/" + fd.Name()); err == nil && inodes[target] {
				return pid, nil
			}
		}
	}
	return 0, errors.New("the listening process is not visible (another user's? give --server-pid)")
}

// isLocalHost reports whether host names this machine.
func isLocalHost(host string) bool {
	ips, err := net.LookupIP(host)
	if err != nil {
		return false
	}
	addrs, _ := net.InterfaceAddrs()
	for _, ip := range ips {
		if ip.IsLoopback() {
			return true
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return true
			}
		}
	}
	return false
}
