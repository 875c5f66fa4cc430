package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestChannelData drives the channel data plane with raw ChannelData: a
// burst of numbered frames goes out through the relay to an echo peer and
// comes back as ChannelData on the same channel, every one, in order. Also
// on a dual-stack listener, where IPv4 clients arrive as ::ffff:a.b.c.d,
// and without the relay loop (as on platforms that have none).
func TestChannelData(t *testing.T) {
	for _, tc := range []struct {
		listen string
		noLoop bool
	}{{"127.0.0.1:0", false}, {"[::]:0", false}, {"127.0.0.1:0", true}} {
		name := tc.listen
		if tc.noLoop {
			name += " without relay loop"
		}
		t.Run(name, func(t *testing.T) {
			s, _ := startServer(t, func(c *Config) {
				c.ListenUDP = tc.listen
				c.AllowPeers = loopback
				c.noRelayLoop = tc.noLoop
			})
			if tc.noLoop && s.loop != nil {
				t.Fatal("the relay loop runs")
			}
			user, pass := Credentials(testSecret, "alice", time.Hour, time.Now())
			server := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), s.Addrs().UDP.(*net.UDPAddr).AddrPort().Port())
			c, err := newRawAlloc(server, user, pass)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			c.echo(&wg)
			defer wg.Wait()
			defer c.close()

			// Bursts of 50: enough for batches, few enough for the
			// default socket buffers.
			const n, burst = 300, 50
			buf := make([]byte, 1500)
			for i := 0; i < n; i += burst {
				for j := i; j < i+burst; j++ {
					var payload [10]byte
					binary.BigEndian.PutUint32(payload[:], uint32(j))
					c.conn.Write(channelData(payload[:]))
				}
				for j := i; j < i+burst; j++ {
					c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
					m, err := c.conn.Read(buf)
					if err != nil {
						t.Fatalf("echo %d of %d: %v", j, n, err)
					}
					num, size := binary.BigEndian.Uint16(buf[0:2]), binary.BigEndian.Uint16(buf[2:4])
					if num != 0x4000 || size != 10 || m < 14 {
						t.Fatalf("frame %x: want channel 0x4000, 10 bytes", buf[:m])
					}
					if seq := binary.BigEndian.Uint32(buf[4:8]); seq != uint32(j) {
						t.Fatalf("echo %d carries %d: out of order", j, seq)
					}
				}
			}
			if st := s.Stats(); st.PacketsToPeers != n || st.PacketsToClients != n || st.BytesToPeers != 10*n {
				t.Errorf("stats: %+v", st)
			}

			// A channel the server never bound is not relayed.
			frame := channelData([]byte("unbound"))
			binary.BigEndian.PutUint16(frame[0:2], 0x4001)
			c.conn.Write(frame)
			time.Sleep(100 * time.Millisecond)
			if got := c.toPeer.Load(); got != n {
				t.Errorf("peer received %d datagrams, want %d: unbound channel relayed", got, n)
			}
		})
	}
}

// TestCloseUnderTraffic closes the server while relays are busy in both
// directions: Close returns, every allocation ends, nothing races.
func TestCloseUnderTraffic(t *testing.T) {
	s, _ := startServer(t, func(c *Config) { c.AllowPeers = loopback })
	user, pass := Credentials(testSecret, "alice", time.Hour, time.Now())
	var wg sync.WaitGroup
	var clients []*rawAlloc
	for range 5 {
		c, err := newRawAlloc(s.Addrs().UDP.(*net.UDPAddr).AddrPort(), user, pass)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		c.echo(&wg)
		clients = append(clients, c)
	}
	stop := make(chan struct{})
	for _, c := range clients {
		wg.Add(2)
		go func() {
			defer wg.Done()
			frame := channelData(make([]byte, 100))
			for {
				select {
				case <-stop:
					return
				default:
					c.conn.Write(frame)
					time.Sleep(50 * time.Microsecond)
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, err := c.conn.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	waitFor(t, "traffic", func() bool { return s.Stats().PacketsToClients > 500 })
	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return under traffic")
	}
	if n := s.Stats().Allocations; n != 0 {
		t.Errorf("%d allocations after Close", n)
	}
	close(stop)
	for _, c := range clients {
		c.close()
	}
	wg.Wait()
}
