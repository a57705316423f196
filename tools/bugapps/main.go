// Command bugapps runs a small ESPF Application with one realistic bug, to
// see check's verdict on it (issue 24's note; the same bugs are rows of
// internal/check's TestWrongApplications):
//
//	go run ./tools/bugapps -bug pdo &
//	ESPFCTL_PASSWORD=s3cret espfctl check --url http://127.0.0.1:18090/espf --auth basic --user pb --soak 0
//
// Basic credentials pb / s3cret, except -bug clock (Signature, keyId k1,
// key s3cret) and -bug expms (Bearer, key s3cret).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"strings"
	"time"
)

func main() {
	bug := flag.String("bug", "", "pdo (500 with a PDOException on DID events), caseless (the password compared without case), success-false (200 {\"success\":false} to invoices), early (200 before the body), slow35 (DID answered after 35 s), early413 (413 before the body, then close), clock (3 hours behind), expms (Exp read as milliseconds)")
	addr := flag.String("listen", "127.0.0.1:18090", "")
	flag.Parse()
	basicOK := func(r *http.Request, fold bool) bool {
		u, p, ok := r.BasicAuth()
		if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
			return false
		}
		if fold {
			return u == "pb" && strings.EqualFold(p, "s3cret")
		}
		return u == "pb" && p == "s3cret"
	}
	h := func(w http.ResponseWriter, r *http.Request) {
		switch *bug {
		case "early":
			if !basicOK(r, false) {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			rc := http.NewResponseController(w)
			rc.EnableFullDuplex()
			w.WriteHeader(http.StatusOK)
			rc.Flush()
			io.Copy(io.Discard, r.Body)
			return
		case "early413":
			if r.ContentLength > 1<<20 {
				c, _, _ := http.NewResponseController(w).Hijack()
				c.Write([]byte("HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
				c.Close()
				return
			}
		case "expms":
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			parts := strings.Split(tok, ".")
			ok := len(parts) == 3
			if ok {
				m := hmac.New(sha256.New, []byte("s3cret"))
				m.Write([]byte(parts[0] + "." + parts[1]))
				sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
				raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
				var c struct{ Exp int64 }
				ok = hmac.Equal(sig, m.Sum(nil)) && json.Unmarshal(raw, &c) == nil && time.UnixMilli(c.Exp).After(time.Now())
			}
			if !ok {
				http.Error(w, "token expired", http.StatusUnauthorized)
				return
			}
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
			return
		case "clock":
			// Signature, keyId k1, key s3cret; the clock 3 hours behind
			d, err := http.ParseTime(r.Header.Get("Date"))
			now := time.Now().Add(-3 * time.Hour)
			if err != nil || d.Sub(now) > 5*time.Minute || now.Sub(d) > 5*time.Minute {
				http.Error(w, "stale date", http.StatusUnauthorized)
				return
			}
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
			return
		}
		if !basicOK(r, *bug == "caseless") {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
		if err != nil || len(body) > 1<<20 {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		var ev struct {
			EventType string          `json:"event_type"`
			Variables json.RawMessage `json:"variables"`
		}
		if json.Unmarshal(body, &ev) != nil || ev.EventType == "" {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		var vars map[string]any
		if json.Unmarshal(ev.Variables, &vars) != nil || vars["i_event"] == nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		switch *bug {
		case "pdo":
			if strings.HasPrefix(ev.EventType, "DID/") {
				http.Error(w, "PDOException: SQLSTATE[HY000] [2002] Connection refused", http.StatusInternalServerError)
				return
			}
		case "success-false":
			if strings.HasPrefix(ev.EventType, "Invoice/") {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"success":false,"error":"no handler for invoices"}`)
				return
			}
		case "slow35":
			if strings.HasPrefix(ev.EventType, "DID/") {
				time.Sleep(35 * time.Second)
			}
		}
		w.WriteHeader(http.StatusOK)
	}
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(h)))
}
