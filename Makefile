# `make test` runs the whole test suite: Go tests (with the race detector)
# and the browser tests in e2e/ (Debian's chromium at /usr/bin/chromium).
.PHONY: test test-go test-e2e build build-arm64 footprint fuzz

test: test-go test-e2e

test-go:
	go test -race -timeout 15m ./...

test-e2e:
	cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o calls .

# A Raspberry Pi 4/5 (64-bit OS) or any arm64 server.
build-arm64:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -ldflags "-s -w" -o calls-linux-arm64 .

footprint:
	bash scripts/footprint.sh

# Every fuzz target for a short while (FUZZTIME=1h for the long run).
fuzz:
	bash scripts/fuzz.sh
