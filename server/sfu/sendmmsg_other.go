//go:build !linux || !(amd64 || arm64)

package sfu

// rawBatch is empty where batches go through golang.org/x/net only.
type rawBatch struct{}

func (c *batchConn) sendRaw(*batch) int { return 0 }
