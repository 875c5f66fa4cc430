//go:build linux && (amd64 || arm64)

package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// TestBatchSendRuns sends a mix through udpBatch.send that has runs the
// kernel can segment (one address, one size, a shorter last frame) and
// frames that break them (another address, a longer frame, an empty one),
// more than one system call's worth: every datagram arrives whole, with
// its own size, in order for each receiver. Then again on a socket that
// sends without UDP checksums, where the kernel refuses segmentation and
// every run must go one datagram at a time.
func TestBatchSendRuns(t *testing.T) {
	for _, noChecksum := range []bool{false, true} {
		name := "segmented"
		if noChecksum {
			name = "refused"
		}
		t.Run(name, func(t *testing.T) {
			sender, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer sender.Close()
			recvA, recvB := listenLoopback(t), listenLoopback(t)
			a, b := recvA.LocalAddr().(*net.UDPAddr).AddrPort(), recvB.LocalAddr().(*net.UDPAddr).AddrPort()

			batch, err := newUDPBatch(sender, 16)
			if err != nil {
				t.Fatal(err)
			}
			if !batch.gso {
				t.Log("this kernel does not segment UDP (UDP_SEGMENT): every frame goes alone")
			}
			if noChecksum {
				rc, _ := sender.SyscallConn()
				var serr error
				rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_NO_CHECK, 1)
				})
				if serr != nil {
					t.Skipf("SO_NO_CHECK: %v", serr)
				}
			}

			// Destination and size of each frame, in sending order.
			plan := []struct {
				to   netip.AddrPort
				size int
			}{}
			add := func(to netip.AddrPort, size, count int) {
				for range count {
					plan = append(plan, struct {
						to   netip.AddrPort
						size int
					}{to, size})
				}
			}
			add(a, 100, 5)
			add(a, 40, 1) // ends the run
			add(a, 100, 3)
			add(b, 100, 2) // another address
			add(a, 0, 1)   // empty
			add(a, 120, 3)
			add(a, 130, 1) // longer: a run of its own
			add(b, 1200, 20)
			add(b, 700, 1)
			add(a, 1200, 70) // more than one message may hold
			frames := make([][]byte, len(plan))
			to := make([]netip.AddrPort, len(plan))
			for i, p := range plan {
				frames[i] = make([]byte, p.size)
				if p.size >= 4 {
					binary.BigEndian.PutUint32(frames[i], uint32(i))
					for j := 4; j < p.size; j++ {
						frames[i][j] = byte(i + j)
					}
				}
				to[i] = p.to
			}
			if err := batch.send(frames, to); err != nil {
				t.Fatal(err)
			}

			buf := make([]byte, 2000)
			for _, r := range []struct {
				conn *net.UDPConn
				addr netip.AddrPort
			}{{recvA, a}, {recvB, b}} {
				for i, p := range plan {
					if p.to != r.addr {
						continue
					}
					r.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
					n, err := r.conn.Read(buf)
					if err != nil {
						t.Fatalf("frame %d (%d bytes to %s): %v", i, p.size, p.to, err)
					}
					if n != p.size {
						t.Fatalf("frame %d to %s: %d bytes arrived, want %d", i, p.to, n, p.size)
					}
					if n >= 4 {
						if seq := binary.BigEndian.Uint32(buf); seq != uint32(i) {
							t.Fatalf("frame %d to %s: got frame %d (out of order)", i, p.to, seq)
						}
						for j := 4; j < n; j++ {
							if buf[j] != byte(i+j) {
								t.Fatalf("frame %d: byte %d differs", i, j)
							}
						}
					}
				}
				r.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if n, err := r.conn.Read(buf); err == nil {
					t.Fatalf("%s got an extra %d-byte datagram", r.addr, n)
				}
			}
		})
	}
}

func listenLoopback(t *testing.T) *net.UDPConn {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadBuffer(1 << 20)
	return c
}
