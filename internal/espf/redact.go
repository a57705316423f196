package espf

import (
	"regexp"
	"strings"
)

// Redacted is what RedactURL writes in place of a secret.
const Redacted = "xxxxx"

// userInfo finds "scheme://USERINFO@" as url.Parse does: the authority
// ends at the first '/', '?' or '#', and its user-info at its last '@'.
var userInfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@`)

// RedactURL is the one way espfctl prints or writes an Application's URL:
// the user-info of https://user:pw@host/ becomes user:xxxxx, and a lone
// https://token@host/ becomes xxxxx, so a password in a URL never reaches a
// log, a report or an error message. Every other byte is kept as given, and
// a URL that does not parse is redacted all the same.
func RedactURL(s string) string {
	m := userInfo.FindStringSubmatchIndex(s)
	if m == nil {
		return s
	}
	info := s[m[4]:m[5]]
	if user, _, ok := strings.Cut(info, ":"); ok {
		info = user + ":" + Redacted
	} else {
		info = Redacted
	}
	return s[:m[4]] + info + s[m[5]:]
}
