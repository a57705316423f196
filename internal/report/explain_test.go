package report

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
	"github.com/espfctl/espfctl/internal/term"
	"github.com/espfctl/espfctl/internal/testutil"
)

// TestExplain pins the human explanation (plain, as off a terminal) of one
// valid and one invalid header per scheme.
func TestExplain(t *testing.T) {
	const (
		date  = "Thu, 12 Apr 2018 15:24:00 GMT"
		token = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJpX2VudiI6MywiRXhwIjoxNTYwMzQyMzE2fQ.PONYERv3xYs5g--XwbflOcaWddSuUNt7hAQqvoEcO4Q"
	)
	sigNow := time.Date(2018, 4, 12, 15, 24, 30, 0, time.UTC)
	env := int64(3)
	basic := sign.Config{Scheme: sign.SchemeBasic, Users: []string{"username"}, Passwords: []string{"secret"}}
	custom := sign.Config{Scheme: sign.SchemeCustom, Name: "Plain", Credentials: []string{"passexample"}}
	signature := sign.Config{Scheme: sign.SchemeSignature, KeyIDs: []string{"test"}, Keys: []string{"signature_key"}, MaxSkew: sign.DefaultMaxSkew}
	wrongKey := signature
	wrongKey.Keys = []string{"signature"} // the key the documentation's prose names
	bearer := sign.Config{Scheme: sign.SchemeBearer, Keys: []string{"superkey"}, IEnv: &env, MaxSkew: sign.DefaultMaxSkew}
	tests := []struct {
		name  string
		cfg   sign.Config
		value string
		date  string
		now   time.Time
	}{
		{"basic/valid", basic, "Basic dXNlcm5hbWU6c2VjcmV0", "", sigNow},
		{"basic/wrong_password", basic, "Basic dXNlcm5hbWU6c2VjcmV0MQ==", "", sigNow},
		{"custom/valid", custom, "Plain passexample", "", sigNow},
		{"custom/wrong_credentials", custom, "Plain passexampl", "", sigNow},
		{"signature/valid", signature, `Signature keyId="test",algorithm="hmac-sha1",signature="+IkiEg9UkyA+gh+pcI64itisKhs="`, date, sigNow},
		{"signature/wrong_key", wrongKey, `Signature keyId="test",algorithm="hmac-sha1",signature="+IkiEg9UkyA+gh+pcI64itisKhs="`, date, sigNow},
		{"bearer/valid", bearer, token, "", time.Unix(1560340000, 0)},
		{"bearer/expired", bearer, token, "", time.Unix(1560342316+3600, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := sign.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set(a.Header(), tt.value)
			if tt.date != "" {
				h.Set("Date", tt.date)
			}
			r := a.Explain(h, nil, tt.now)
			if want := !bytes.Contains([]byte(tt.name), []byte("/valid")); r.Valid == want {
				t.Fatalf("Valid = %t for %s: %s", r.Valid, tt.name, r.Reason)
			}
			var buf bytes.Buffer
			Explain(&buf, r, tt.now, term.Palette{})
			testutil.Golden(t, buf.Bytes())
		})
	}
}
