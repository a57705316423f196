// Command benchrecv is the fast loopback receiver that BENCHMARKS.md
// measures espfctl send (and vegeta) against. It is a benchmark fixture,
// not a product feature: it reads the body, optionally verifies the
// Signature header, and answers 200.
//
//	go run ./internal/sim/benchrecv -addr 127.0.0.1:8099 -key-id test -key s3cret
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address")
	keyID := flag.String("key-id", "", "verify the Signature scheme with this key id (and -key)")
	key := flag.String("key", "", "signature key")
	flag.Parse()
	var verifier sign.Verifier
	if *keyID != "" {
		a, err := sign.New(sign.Config{Scheme: sign.SchemeSignature, KeyIDs: []string{*keyID}, Keys: []string{*key}, MaxSkew: time.Minute})
		if err != nil {
			log.Fatal(err)
		}
		verifier = a
	}
	var n, bad atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n.Add(1)
		if verifier != nil {
			if err := verifier.Verify(r.Header, body, time.Now()); err != nil {
				bad.Add(1)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	go func() {
		for range time.Tick(10 * time.Second) {
			fmt.Fprintf(os.Stderr, "benchrecv: %d requests, %d rejected\n", n.Load(), bad.Load())
		}
	}()
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
