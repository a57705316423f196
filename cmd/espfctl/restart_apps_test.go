package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/espfctl/espfctl/internal/entity"
)

// restartApp is a small Application of the restart tests' own, run as a
// process (TestMain installs it as espfctl-testapp) so that a restart
// command can SIGKILL it and start it again:
//
//	espfctl-testapp MODE ADDR DIR
//
// It keeps what it applied in DIR/applied (one line per application,
// written before it counts: a SIGKILL loses nothing written), answers
// GET /state/{group}/{id} with {"exists", "i_event", "applied"} from that
// file, and writes DIR/ready once it listens on ADDR. The modes are the two
// ways an Application breaks "acknowledged means applied":
//
//   - early: answers 200 at once and applies the event 300 ms later (an
//     in-process queue): a SIGKILL loses what was answered but not applied.
//   - memory: applies, then answers 200, but remembers the i_events it has
//     seen in memory only: after a restart, a re-sent event is applied
//     again.
func restartApp() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: espfctl-testapp early|memory ADDR DIR")
		os.Exit(2)
	}
	mode, addr, dir := os.Args[1], os.Args[2], os.Args[3]
	a, err := openRestartApp(mode, filepath.Join(dir, "applied"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	// The killed instance's port may take a moment to be free: try until it
	// is (the test's -timeout bounds the wait, not a count of tries).
	var ln net.Listener
	for {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(addr), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Fprintln(os.Stderr, (&http.Server{Handler: a}).Serve(ln))
	os.Exit(1)
}

type restartAppState struct {
	mode string
	mu   sync.Mutex
	f    *os.File
	seen map[int64]bool // early: rebuilt from the file; memory: this process's only
	st   map[entity.Key]entity.State
	n    map[entity.Key]int64
}

func openRestartApp(mode, path string) (*restartAppState, error) {
	if mode != "early" && mode != "memory" {
		return nil, fmt.Errorf("mode %q: want early or memory", mode)
	}
	a := &restartAppState{mode: mode, seen: map[int64]bool{}, st: map[entity.Key]entity.State{}, n: map[entity.Key]int64{}}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var id int64
			var typ, key string
			if _, err := fmt.Sscan(sc.Text(), &id, &typ, &key); err != nil {
				continue // a line cut by the kill
			}
			k, _ := entity.ParseKey(key)
			_, act, _ := entity.Classify(typ)
			a.count(k, act, id)
			if mode == "early" {
				a.seen[id] = true
			}
		}
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	a.f = f
	return a, err
}

func (a *restartAppState) count(k entity.Key, act entity.Action, id int64) {
	st := a.st[k]
	st.Apply(act, id)
	a.st[k] = st
	a.n[k]++
}

// apply applies one event, once per i_event as far as this process knows.
func (a *restartAppState) apply(k entity.Key, act entity.Action, typ string, id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mode == "memory" && a.seen[id] {
		return
	}
	a.seen[id] = true
	fmt.Fprintf(a.f, "%d %s %s\n", id, typ, k)
	a.count(k, act, id)
}

func (a *restartAppState) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if key, ok := strings.CutPrefix(r.URL.Path, "/state/"); ok {
		k, err := entity.ParseKey(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		st, n := a.st[k], a.n[k]
		a.mu.Unlock()
		if n == 0 {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"exists": st.Exists, "i_event": st.IEvent, "applied": n})
		return
	}
	var ev struct {
		Type string         `json:"event_type"`
		Vars map[string]any `json:"variables"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	id, _ := ev.Vars["i_event"].(json.Number).Int64()
	k, act, ok := entity.Of(ev.Type, ev.Vars)
	if !ok || !act.Lifecycle() {
		return // 200: nothing to apply
	}
	if a.mode == "early" {
		a.mu.Lock()
		dup := a.seen[id]
		a.seen[id] = true
		a.mu.Unlock()
		if !dup {
			time.AfterFunc(300*time.Millisecond, func() {
				a.mu.Lock()
				defer a.mu.Unlock()
				fmt.Fprintf(a.f, "%d %s %s\n", id, ev.Type, k)
				a.count(k, act, id)
			})
		}
		return // 200 before the work is safe
	}
	a.apply(k, act, ev.Type, id)
}
