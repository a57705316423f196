package event_test

import (
	"testing"

	"github.com/espfctl/espfctl/internal/event"
)

func TestParseVar(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		name string
		want any
	}{
		{"i_account=1000889", "i_account", "1000889"}, // a json.Number, compared by its digits
		{`number="0123"`, "number", "0123"},
		{"status=used", "status", "used"},
		{"ok=true", "ok", true},
		{"two=1 2", "two", "1 2"},
	} {
		name, v, err := event.ParseVar(tt.in)
		if err != nil || name != tt.name {
			t.Errorf("ParseVar(%q) = %q, %v, %v", tt.in, name, v, err)
			continue
		}
		if n, ok := v.(interface{ String() string }); ok {
			v = n.String()
		}
		if v != tt.want {
			t.Errorf("ParseVar(%q) value %#v, want %#v", tt.in, v, tt.want)
		}
	}
}
