package check_test

import (
	"testing"

	"github.com/espfctl/espfctl/internal/check"
	"github.com/espfctl/espfctl/internal/sign"
)

// BenchmarkRunReference measures one full conformance run (all ten checks,
// nine requests) against the reference receiver over loopback, signature
// scheme, with a fresh i_event range per iteration.
func BenchmarkRunReference(b *testing.B) {
	c := vectors[sign.SchemeSignature]
	au, err := sign.New(c)
	if err != nil {
		b.Fatal(err)
	}
	forged, err := check.Forge(c)
	if err != nil {
		b.Fatal(err)
	}
	url := serve(b, receiver(b, au))
	first := int64(check.DefaultFirstEvent)
	b.ReportAllocs()
	for b.Loop() {
		rs, err := check.Run(b.Context(), check.Config{URL: url, Auth: au, Forged: forged, FirstEvent: first})
		if err != nil || check.Count(rs).Fail > 0 {
			b.Fatalf("Run: %v, %s", err, check.Count(rs))
		}
		first += 100
	}
}
