package turn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun"
)

// rawAlloc is a minimal TURN client speaking raw STUN and ChannelData:
// one UDP allocation with channel 0x4000 bound to its own UDP peer.
type rawAlloc struct {
	conn     *net.UDPConn // to the server
	peer     *net.UDPConn
	sent     atomic.Uint64 // packets the client sent
	toPeer   atomic.Uint64 // packets the peer received
	toClient atomic.Uint64 // packets the client received back
}

func newRawAlloc(server netip.AddrPort, user, pass string) (*rawAlloc, error) {
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(server))
	if err != nil {
		return nil, err
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &rawAlloc{conn: conn, peer: peer}
	transport := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
	res, err := c.transact(stun.NewType(stun.MethodAllocate, stun.ClassRequest), transport)
	if err != nil {
		c.close()
		return nil, err
	}
	var nonce stun.Nonce
	var realm stun.Realm
	if err := nonce.GetFrom(res); err != nil {
		c.close()
		return nil, fmt.Errorf("allocate: no nonce in %v", res)
	}
	realm.GetFrom(res)
	auth := []stun.Setter{stun.NewUsername(user), realm, nonce,
		stun.NewLongTermIntegrity(user, realm.String(), pass), stun.Fingerprint}
	if _, err := c.transact(stun.NewType(stun.MethodAllocate, stun.ClassRequest), append([]stun.Setter{transport}, auth...)...); err != nil {
		c.close()
		return nil, fmt.Errorf("allocate: %w", err)
	}
	peerAddr := peer.LocalAddr().(*net.UDPAddr)
	bind := []stun.Setter{
		xorPeer{&stun.XORMappedAddress{IP: peerAddr.IP, Port: peerAddr.Port}}, channelNumber(0x4000),
	}
	if _, err := c.transact(stun.NewType(stun.MethodChannelBind, stun.ClassRequest), append(bind, auth...)...); err != nil {
		c.close()
		return nil, fmt.Errorf("channel bind: %w", err)
	}
	return c, nil
}

// transact sends a request and returns its response; an error response
// is an error unless it is the 401 that carries the nonce.
func (c *rawAlloc) transact(t stun.MessageType, setters ...stun.Setter) (*stun.Message, error) {
	req, err := stun.Build(append([]stun.Setter{stun.TransactionID, t}, setters...)...)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 1500)
	for range 10 {
		c.conn.Write(req.Raw)
		c.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				break
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if res.Decode() != nil || res.TransactionID != req.TransactionID {
				continue
			}
			c.conn.SetReadDeadline(time.Time{})
			if res.Type.Class == stun.ClassErrorResponse {
				var code stun.ErrorCodeAttribute
				code.GetFrom(res)
				if code.Code == stun.CodeUnauthorized {
					return res, nil
				}
				return nil, fmt.Errorf("%v: %v", res.Type, code)
			}
			return res, nil
		}
	}
	return nil, errors.New("no response")
}

func channelData(payload []byte) []byte {
	frame := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint16(frame[0:2], 0x4000)
	binary.BigEndian.PutUint16(frame[2:4], uint16(len(payload)))
	copy(frame[4:], payload)
	return frame
}

func (c *rawAlloc) close() {
	c.conn.Close()
	c.peer.Close()
}

// echo makes the peer send every datagram back to the relay it came
// from, counting them.
func (c *rawAlloc) echo(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := c.peer.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.toPeer.Add(1)
			c.peer.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
}
