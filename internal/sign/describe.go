package sign

import (
	"fmt"
	"strconv"
	"strings"
)

// Describe names the credential cfg configures without its secret: the
// scheme and the parts a receiver compares, for words that tell a user
// which credential an Application refused ("basic credentials (user "pb"
// and its password)").
func Describe(cfg Config) string {
	first := func(ss []string) string {
		if len(ss) == 0 {
			return ""
		}
		return ss[0]
	}
	var w string
	switch cfg.Scheme {
	case SchemeBasic:
		w = fmt.Sprintf("user %q and its password", first(cfg.Users))
	case SchemeCustom:
		// A scheme name is a word (Plain, Token, ApiKey); anything else
		// may be a secret given to --scheme by mistake: not named.
		name := strings.TrimSpace(cfg.Name)
		if len(name) <= 16 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
			w = fmt.Sprintf("scheme name %q and its credentials", name)
		} else {
			w = fmt.Sprintf("a scheme name of %d characters (not shown: it is not a word) and its credentials", len(name))
		}
	case SchemeSignature:
		w = fmt.Sprintf("keyId %q, the Date signed with its key, hmac-sha1", first(cfg.KeyIDs))
	case SchemeBearer:
		w = "an HS256 token signed with the key, Exp in seconds"
		if cfg.IEnv != nil {
			w += ", i_env " + strconv.FormatInt(*cfg.IEnv, 10)
		}
	}
	if h := cfg.HeaderName; h != "" && !strings.EqualFold(h, DefaultHeader) {
		w += ", in the " + h + " header"
	}
	return cfg.Scheme + " credentials (" + w + ")"
}

// Environment variables that hold a secret when no flag or file gives it:
// every credential flag reads them, and check's reproducers refer to them.
const (
	EnvPassword    = "ESPFCTL_PASSWORD"
	EnvCredentials = "ESPFCTL_CREDENTIALS"
	EnvKey         = "ESPFCTL_KEY"
)

// EnvOf is the environment variable that holds scheme's secret.
func EnvOf(scheme string) string {
	switch scheme {
	case SchemeBasic:
		return EnvPassword
	case SchemeCustom:
		return EnvCredentials
	}
	return EnvKey
}

// Flags are the command-line flags that set scheme's credential, for a
// hint: "--auth basic, --user, --password, --header-name".
func Flags(scheme string) string {
	flags := map[string]string{
		SchemeBasic:     "--user, --password",
		SchemeCustom:    "--scheme, --credentials",
		SchemeSignature: "--key-id, --key",
		SchemeBearer:    "--key, --i-env",
	}[scheme]
	return "--auth " + scheme + ", " + flags + ", --header-name"
}
