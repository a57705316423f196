package check_test

import (
	"testing"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/sign"
)

// benchRun is one full conformance run per iteration against espfctl
// serve's Application (verify.Serve over loopback, in-memory journal),
// signature scheme, with a fresh i_event range each time. It fails on any
// failed case, so a figure is always of a passing run.
func benchRun(b *testing.B, cfg check.Config) {
	c := vectors[sign.SchemeSignature]
	cfg.Creds, cfg.URL = c, serve(b, receiver(b, &c), nil)
	cfg.FirstEvent = check.DefaultFirstEvent
	b.ReportAllocs()
	for b.Loop() {
		rs, err := check.Run(b.Context(), cfg)
		if n := check.Count(rs); err != nil || n.Fail > 0 {
			b.Fatalf("Run: %v, %s", err, n)
		}
		cfg.FirstEvent += 100_000
	}
}

// BenchmarkRunServe is `check --soak 0`: every case but the soak.
func BenchmarkRunServe(b *testing.B) { benchRun(b, check.Config{}) }

// BenchmarkRunServeSoak is `check` with the default 20 s soak; run it with
// -benchtime 1x.
func BenchmarkRunServeSoak(b *testing.B) { benchRun(b, check.Config{Soak: check.DefaultSoak}) }
