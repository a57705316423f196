package sign

import (
	"fmt"
	"strings"
)

// Warnings lists what is valid in cfg but will likely fail with real
// receivers, for sign, send and serve to print: custom credentials with
// whitespace inside (receivers that split the header at one space, such as
// the public PHP receiver psr14-event, refuse them with 401 and the ESPF
// drops the event; a scheme name with whitespace is refused outright by
// New), and, for a sender, a bearer token without the i_env claim that
// PortaBilling's always carries. No warning quotes a secret.
func Warnings(cfg Config, sender bool) []string {
	var out []string
	switch strings.ToLower(cfg.Scheme) {
	case SchemeCustom:
		for i, c := range cfg.Credentials {
			if strings.ContainsAny(strings.TrimSpace(c), " \t") {
				which := "the credentials contain"
				if len(cfg.Credentials) > 1 {
					which = fmt.Sprintf("credentials #%d contain", i+1)
				}
				out = append(out, which+" whitespace: receivers that split the header at one space (such as the public PHP receiver psr14-event) refuse them with 401, and a 401 makes the ESPF drop the event")
			}
		}
	case SchemeBearer:
		if sender && cfg.IEnv == nil {
			out = append(out, "the bearer token has no i_env claim: PortaBilling's token always carries one, and an Application that checks it refuses the token")
		}
	}
	return out
}
