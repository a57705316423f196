package espf_test

import (
	"net/http"
	"testing"

	"github.com/espfctl/espfctl/internal/espf"
)

func TestFailureBody(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]bool{
		``:                               false,
		`OK`:                             false,
		`<html>accepted</html>`:          false,
		`{"result":"queued","id":7}`:     false,
		`{"success":true}`:               false,
		`{"ok":true,"error":null}`:       false,
		`{"errors":[]}`:                  false,
		`{"success":false,"error":"db"}`: true,
		`{"ok":false}`:                   true,
		`{"status":"FAILED"}`:            true,
		`{"error":"HSS unreachable"}`:    true,
		`{"errors":[{"code":1}]}`:        true,
		`{"error":{"message":"x"}}`:      true,
		"Error: cannot connect":          true,
		"  exception in thread main":     true,
		`{"success":false`:               false, // not JSON: not read as anything
	} {
		if got := espf.FailureBody([]byte(body)); got != want {
			t.Errorf("FailureBody(%q) = %t, want %t", body, got, want)
		}
	}
}

// BenchmarkKeep is what the send loop asks of every answer: a 200 with a
// JSON body that says nothing of failure costs no decoding.
func BenchmarkKeep(b *testing.B) {
	body := []byte(`{"result":"queued","id":1000889,"message":"provisioning started"}`)
	b.ReportAllocs()
	for b.Loop() {
		if espf.Keep(http.StatusOK, body) {
			b.Fatal("kept a plain delivery")
		}
	}
}
