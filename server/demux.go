package server

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"time"
)

// demux splits one TCP listener in two by the first bytes a client sends:
// ICE-TCP (RFC 4571 framing: a 2-byte length, then a STUN message whose
// bytes 4-8 are the magic cookie 0x2112A442) goes to the SFU; anything else
// (TLS, HTTP) goes to the web server. So whoever reaches the web UI can
// reach call media too, through any firewall that lets HTTPS out.
type demux struct {
	ln   net.Listener
	web  *subListener
	ice  *subListener
	once sync.Once
}

var stunCookie = []byte{0x21, 0x12, 0xa4, 0x42}

func newDemux(ln net.Listener) *demux {
	d := &demux{ln: ln}
	d.web = &subListener{parent: d, conns: make(chan net.Conn, 64), done: make(chan struct{})}
	d.ice = &subListener{parent: d, conns: make(chan net.Conn, 64), done: make(chan struct{})}
	go d.accept()
	return d
}

func (d *demux) accept() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			d.close()
			return
		}
		go d.route(c)
	}
}

// route peeks at the first 10 bytes (or what arrives in 5 s) and hands the
// connection, bytes included, to the right side.
func (d *demux) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	head := make([]byte, 10)
	n := readHead(c, head)
	_ = c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, head: head[:n]}
	target := d.web
	if n == 10 && bytes.Equal(head[6:10], stunCookie) {
		target = d.ice
	}
	select {
	case target.conns <- pc:
	case <-target.done:
		c.Close()
	}
}

// readHead fills buf, except that a first byte other than 0 settles it
// at once: TLS starts with 0x16 and HTTP with a letter, while the 2-byte
// length of a framed STUN message (always < 256 bytes) starts with 0.
func readHead(c net.Conn, buf []byte) int {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil || (n > 0 && buf[0] != 0) {
			return n
		}
	}
	return n
}

func (d *demux) close() {
	d.once.Do(func() {
		d.ln.Close()
		close(d.web.done)
		close(d.ice.done)
	})
}

// subListener is one side of a demux.
type subListener struct {
	parent *demux
	conns  chan net.Conn
	done   chan struct{}
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *subListener) Close() error {
	l.parent.close()
	return nil
}

func (l *subListener) Addr() net.Addr { return l.parent.ln.Addr() }

// peekedConn replays the bytes the demux read before the rest.
type peekedConn struct {
	net.Conn
	head []byte
}

func (c *peekedConn) Read(b []byte) (int, error) {
	if len(c.head) > 0 {
		n := copy(b, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
