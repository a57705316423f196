package inspect_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// bigEvent is an ESPF event of about size bytes: its variables carry a
// long note of filler (fill repeated).
func bigEvent(iEvent int64, size int, fill string) []byte {
	note := strings.ToValidUTF8(strings.Repeat(fill, size/len(fill)+1)[:size], "") // a character cut at the end left out
	return fmt.Appendf(nil, `{"event_type":"Subscriber/Created","variables":{"i_event":%d,"i_account":7,"note":%q}}`, iEvent, note)
}

// TestDetailOfALargeBody: the detail page of an event of 1 MiB and of one
// of 8 MiB shows the first 64 KiB of the body and a link to the rest: the
// page is about the same size for both, small, whatever --max-body is
// (before, it held the body five times over); the link gives the whole
// body byte for byte, as text when it is UTF-8 (a long multi-byte text
// whose characters fall across the journal's chunks) and as bytes when it
// is not; replay as recorded stays offered, editing is not.
func TestDetailOfALargeBody(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{maxBody: 9 << 20})
	bodies := map[int64][]byte{
		1: bigEvent(1, 1<<20, "abc"),
		2: bigEvent(2, 8<<20, "日本語テキスト"),
	}
	for _, b := range bodies {
		if st := deliver(t, r.delivery, r.auth, b); st != 200 {
			t.Fatalf("a %d-byte event: %d", len(b), st)
		}
	}
	var sizes []int
	for id, b := range bodies {
		st, page := get(t, fmt.Sprintf("%s/ui/d/first/%d", r.admin, id))
		if st != 200 {
			t.Fatalf("detail of %d: %d", id, st)
		}
		sizes = append(sizes, len(page))
		if len(page) > 512<<10 {
			t.Errorf("the detail of a %d-byte body is %d bytes, want at most 512 KiB whatever the body's size", len(b), len(page))
		}
		for _, want := range []string{fmt.Sprintf("/ui/d/first/%d/body", id), "the first 65\u2009", "open the raw bytes", "replay-recorded"} {
			if !strings.Contains(page, want) {
				t.Errorf("the detail of a %d-byte body lacks %q", len(b), want)
			}
		}
		if strings.Contains(page, `name="body"`) {
			t.Errorf("the detail of a %d-byte body offers to edit it", len(b))
		}
		resp, err := client.Get(fmt.Sprintf("%s/ui/d/first/%d/body", r.admin, id))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, b) || resp.ContentLength != int64(len(b)) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("the body of %d: %d bytes (%v, Content-Length %d, %s), want the %d bytes delivered, as text", id, len(got), err, resp.ContentLength, resp.Header.Get("Content-Type"), len(b))
		}
	}
	if d := sizes[0] - sizes[1]; d > 64<<10 || d < -(64<<10) {
		t.Errorf("detail pages of 1 MiB and 8 MiB bodies are %d and %d bytes: want about the same", sizes[0], sizes[1])
	}
	// A body that is not UTF-8 (bytes inside a JSON string: an event
	// still) comes as bytes.
	bin := fmt.Appendf(nil, `{"event_type":"Subscriber/Created","variables":{"i_event":3,"note":"%s%s"}}`, strings.Repeat("y", 300<<10), "\xff\xfe")
	if st := deliver(t, r.delivery, r.auth, bin); st != 200 {
		t.Fatalf("a body with bytes that are not UTF-8: %d", st)
	}
	resp, err := client.Get(r.admin + "/ui/d/first/3/body")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, bin) || resp.Header.Get("Content-Type") != "application/octet-stream" || resp.StatusCode != http.StatusOK {
		t.Errorf("a body that is not UTF-8: %d bytes as %q, want the %d bytes as application/octet-stream", len(got), resp.Header.Get("Content-Type"), len(bin))
	}
}
