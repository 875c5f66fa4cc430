//go:build benchpprof

package main

// Built only with -tags benchpprof (BenchmarkIdleClients10k does so when
// CALLS_BENCH_PPROF is set): serves net/http/pprof on the loopback address
// in CALLS_PPROF_ADDR, so the benchmark can take heap and goroutine
// profiles of the real binary. Release builds have no such endpoint.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("CALLS_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
