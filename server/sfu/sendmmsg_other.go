//go:build !linux || !(amd64 || arm64)

package sfu

import "net"

// rawBatch is empty where batches go through golang.org/x/net only.
type rawBatch struct{}

func (c *batchConn) sendRaw(*batch) int { return 0 }

// ReadFrom is the socket's own where there is no raw recvfrom here.
func (c *batchConn) ReadFrom(b []byte) (int, net.Addr, error) { return c.PacketConn.ReadFrom(b) }
