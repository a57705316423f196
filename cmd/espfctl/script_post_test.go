package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdHTTPPost POSTs a file to a URL with the headers in a file of
// "Name: value" lines (such as `espfctl sign --http` prints, saved with
// `cp stdout hdrs`) and writes "status N" to stdout:
//
//	httppost URL BODYFILE [HEADERFILE]
func cmdHTTPPost(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: httppost URL BODYFILE [HEADERFILE]")
	}
	body, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	req, err := http.NewRequest(http.MethodPost, args[0], strings.NewReader(string(body)))
	ts.Check(err)
	req.Header.Set("Content-Type", "application/json")
	if len(args) == 3 {
		f, err := os.Open(ts.MkAbs(args[2]))
		ts.Check(err)
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), ":"); ok {
				req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
			}
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if neg {
		if err == nil {
			resp.Body.Close()
			ts.Fatalf("httppost: got status %d, want a failure", resp.StatusCode)
		}
		return
	}
	ts.Check(err)
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	fmt.Fprintf(ts.Stdout(), "status %d\n", resp.StatusCode)
}
