// idlekeep opens N keep-alive connections to a receiver, delivers one signed
// (Basic) event on each, then keeps them all open and quiet until killed,
// as a sender's pool does after a burst. It prints "ready" when every
// connection has had its answer. Used by tools/hardening/idle.sh (BENCHMARKS.md).
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "delivery URL")
	n := flag.Int("n", 600, "connections")
	user := flag.String("user", "u", "")
	pw := flag.String("password", "p", "")
	first := flag.Int64("first", 900000000, "first i_event")
	flag.Parse()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var keep []*http.Transport
	start := time.Now()
	for i := 0; i < *n; i++ {
		tr := &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Hour}
		keep = append(keep, tr)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := fmt.Sprintf(`{"event_type":"Subscriber/Created","variables":{"i_account":%d,"i_event":"%d"}}`, i+1, *first+int64(i))
			req, _ := http.NewRequest(http.MethodPost, *url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			req.SetBasicAuth(*user, *pw)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			code := 0
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "ready: %d connections answered %v in %s\n", len(keep), codes, time.Since(start).Round(time.Millisecond))
	fmt.Println("ready")
	select {}
}
