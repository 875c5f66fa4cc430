package main

import (
	"embed"
	"io/fs"
)

//go:embed webui
var webuiFiles embed.FS

// webUI is the web UI with index.html at its root.
func webUI() fs.FS {
	sub, err := fs.Sub(webuiFiles, "webui")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}
