package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/testutil"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"espfctl": func() { os.Exit(realMain()) }, "espfctl-testapp": restartApp})
}

// TestScript runs the end-to-end scripts in testdata/script against the
// real binary (testscript re-executes this test binary as espfctl).
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		UpdateScripts:       *testutil.Update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"waitaddr": cmdWaitAddr,
			"exits":    cmdExits, // exits CODE program args…: exact exit codes
			"httppost": cmdHTTPPost,
		},
	})
}

// cmdWaitAddr waits for a --ready-file written by a background process
// and sets an environment variable to its content; only the test's
// -timeout bounds the wait:
//
//	waitaddr VAR file
func cmdWaitAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitaddr VAR file")
	}
	path := ts.MkAbs(args[1])
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			ts.Setenv(args[0], strings.TrimSpace(string(b)))
			return
		}
		time.Sleep(20 * time.Millisecond) // polls another process's file; not a timing assertion
	}
}
