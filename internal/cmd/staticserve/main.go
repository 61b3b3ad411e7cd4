// Command staticserve serves a directory over HTTP on a loopback address:
// the stand-in for a shop's web server in the load benchmark.
//
//	go run ./internal/cmd/staticserve -addr 127.0.0.1:8089 -dir DIR
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "listen address (loopback)")
	dir := flag.String("dir", ".", "directory to serve")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, http.FileServer(http.Dir(*dir))))
}
