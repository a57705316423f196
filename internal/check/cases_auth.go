package check

import (
	"context"
	"net/http"
	"time"

	"github.com/espfctl/espfctl/internal/sign"
)

const refusePasses = "401 or 403 (another 4xx warns)"

// authCases are contract §3, per scheme: each sends a Subscriber/Created
// that a correct Application must refuse.
func authCases() []Case {
	var out []Case
	for _, s := range []struct {
		scheme, secret, secretWhat string
		extra                      []Case
	}{
		{sign.SchemeBasic, "wrong-password", "the right user with a random password of the same length", basicCases()},
		{sign.SchemeCustom, "wrong-credentials", "the right scheme name with random credentials of the same length", customCases()},
		{sign.SchemeSignature, "wrong-key", "the right keyId, signed with a random key of the same length", signatureCases()},
		{sign.SchemeBearer, "wrong-key", "a token signed with another key (random, of the same length)", bearerCases()},
	} {
		sec := "3." + s.scheme
		common := []Case{
			{ID: "/no-header", Sends: "the event without the credentials header (--header-name; Date still set)",
				Why: "an Application that does not require credentials lets anyone who can reach the URL provision",
				run: refused(func(r *runner) (*credential, error) { return nil, nil },
					"it accepts events without credentials: anyone who can reach the URL can provision")},
			{ID: "/" + s.secret, Sends: "the event with " + s.secretWhat,
				Why: "a wrong secret must be refused; the same length defeats a check of the length alone",
				run: refused(func(r *runner) (*credential, error) { return r.creds.variant(variant{wrongSecret: true}) },
					"it accepts a wrong secret: anyone who knows the URL and the scheme can provision")},
			{ID: "/other-scheme-name", Sends: "the right credentials under another scheme name (e.g. Bearer instead of Basic)",
				Why: "an Application that reads the value after the space and ignores the scheme name accepts what the ESPF was never configured to send",
				run: refused(func(r *runner) (*credential, error) {
					return r.creds.variant(variant{schemeName: otherName(ownName(r))})
				}, "it ignores the scheme name in the credentials header")},
		}
		for _, c := range append(common, s.extra...) {
			c.ID = sec + c.ID // c.ID is "/name" until here
			c.Section, c.Scheme, c.Passes = sec, s.scheme, refusePasses
			out = append(out, c)
		}
	}
	return out
}

// ownName is the scheme name the configured credentials use.
func ownName(r *runner) string {
	switch r.scheme {
	case sign.SchemeBasic:
		return "Basic"
	case sign.SchemeSignature:
		return "Signature"
	case sign.SchemeBearer:
		return "Bearer"
	}
	return r.creds.cfg.Name
}

// refused sends a correct Subscriber/Created with the credential that cred
// builds (nil = none) and grades it with mustRefuse.
func refused(cred func(r *runner) (*credential, error), on200 string) func(context.Context, *runner) (verdict, error) {
	return dated(dateNow, 0, cred, on200)
}

// dated is refused with a Date of its own: mode, offset from now.
func dated(mode dateMode, offset time.Duration, cred func(r *runner) (*credential, error), on200 string) func(context.Context, *runner) (verdict, error) {
	return single(func(r *runner) (shot, error) {
		s, err := r.event("Subscriber/Created", false)
		if err != nil {
			return s, err
		}
		s.cred, err = cred(r)
		s.date, s.at, s.valid = mode, r.cfg.Now().Add(offset), false
		return s, err
	}, mustRefuse(on200))
}

func basicCases() []Case {
	return []Case{
		{ID: "/wrong-user", Sends: "the event with a random user of the same length and the right password",
			Why: "an Application that checks the password alone accepts any user",
			run: refused(func(r *runner) (*credential, error) { return r.creds.variant(variant{wrongUser: true}) },
				"it accepts the password under any user name")},
		nearMiss("/password-case", "secret", "the password", "its letters in the other case (PassWord → pASSwORD)",
			"it compares the password without regard to letter case: a password is worth a fraction of its length"),
		nearMiss("/user-case", "user", "the user", "its letters in the other case, with the right password",
			"it compares the user name without regard to letter case: PortaBilling sends the user exactly as configured"),
	}
}

func customCases() []Case {
	return []Case{
		nearMiss("/credentials-case", "secret", "the credentials after the scheme name", "their letters in the other case",
			"it compares the credentials without regard to letter case: a secret is worth a fraction of its length"),
	}
}

// nearMiss is a case that sends the right credential with one part's
// letters in the other case: an Application that compares it with
// strings.EqualFold, strcasecmp or a case-insensitive database collation
// accepts it. Skipped when that part has no letter.
func nearMiss(id, part, what, how, on200 string) Case {
	return Case{ID: id, Sends: "the event with " + what + " differing only in letter case: " + how,
		Why: "a near miss, not a random value: a comparison that ignores letter case accepts it, and the wrong-secret case cannot tell",
		run: func(ctx context.Context, r *runner) (verdict, error) {
			if !r.creds.hasLetters(part) {
				r.cur.Answer = "-"
				return verdict{grade: Skip, msg: what + " has no letter: letter case cannot differ"}, nil
			}
			return refused(func(r *runner) (*credential, error) { return r.creds.variant(variant{flipCase: part}) }, on200)(ctx, r)
		}}
}

func signatureCases() []Case {
	sig := func(v variant) func(r *runner) (*credential, error) {
		return func(r *runner) (*credential, error) { return r.creds.variant(v) }
	}
	return []Case{
		{ID: "/wrong-key-id", Sends: "the event signed with the right key under a random keyId of the same length",
			Why: "the keyId names the key: an Application that ignores it cannot rotate keys safely",
			run: refused(sig(variant{wrongKeyID: true}), "it ignores the keyId")},
		nearMiss("/key-id-case", "key-id", "the keyId", "its letters in the other case, signed with the right key",
			"it compares the keyId without regard to letter case"),
		{ID: "/wrong-algorithm", Sends: `the right HMAC-SHA1 signature labelled algorithm="hmac-sha256"`,
			Why: "the receiver must check the algorithm parameter: the ESPF only signs hmac-sha1",
			run: refused(sig(variant{algorithm: "hmac-sha256"}), "it ignores the algorithm parameter")},
		{ID: "/date-hour-old", Sends: "a Date one hour old, correctly signed for that Date",
			Why: "the signature covers only the Date: without a bound on its age, a captured request can be replayed for ever",
			run: dated(dateFixed, -time.Hour, sig(variant{}), "the Date's age is not bounded: a captured request can be replayed for ever")},
		{ID: "/date-future", Sends: "a Date one hour ahead, correctly signed for that Date",
			Why: "the bound on the Date must hold in both directions, or a forger signs for the future",
			run: dated(dateFixed, time.Hour, sig(variant{}), "a Date in the future is accepted: the replay window is unbounded")},
		{ID: "/no-date", Sends: "no Date header, signed over the empty string (what a receiver reading the missing header computes)",
			Why: "Date is mandatory and is the signing string: without it nothing is signed",
			run: dated(dateNone, 0, sig(variant{signing: "none"}), "it accepts a request with no Date: the signature covers nothing")},
		{ID: "/other-date", Sends: "a fresh Date with a signature made for another Date (one minute earlier)",
			Why: "the signature must be checked against this request's own Date",
			run: func(ctx context.Context, r *runner) (verdict, error) {
				other := r.cfg.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)
				return refused(sig(variant{signing: other}), "the signature is not checked against the request's Date")(ctx, r)
			}},
	}
}

func bearerCases() []Case {
	tok := func(v variant) func(r *runner) (*credential, error) {
		return func(r *runner) (*credential, error) { return r.creds.variant(v) }
	}
	return []Case{
		{ID: "/expired", Sends: "a token whose Exp was one hour ago, correctly signed",
			Why: "PortaBilling's claim is Exp with a capital E, which standard JWT libraries do not check by themselves",
			run: refused(tok(variant{claims: "expired"}), "it accepts expired tokens (is Exp, with a capital E, checked?)")},
		{ID: "/no-expiry", Sends: "a token with neither Exp nor exp, correctly signed",
			Why: "a token without expiry is valid for ever once leaked",
			run: refused(tok(variant{claims: "no-exp"}), "it accepts tokens that never expire")},
		{ID: "/alg-none", Sends: `a token with the header {"alg":"none"} and no signature`,
			Why: "the classic JWT forgery: a library that trusts the header's alg accepts an unsigned token",
			run: refused(tok(variant{jwtAlg: "none"}), `it accepts unsigned tokens (alg "none"): anyone can forge one`)},
		{ID: "/other-alg", Sends: `a token with {"alg":"HS512"}, signed HS512 with the right key`,
			Why: "a receiver must accept HS256 only, as the ESPF signs; trusting the header's alg opens algorithm confusion",
			run: refused(tok(variant{jwtAlg: "HS512"}), "it accepts algorithms other than HS256 (the alg in the header is trusted)")},
		{ID: "/other-i-env", Sends: "a token for another i_env (the configured --i-env + 1), correctly signed (needs --i-env)",
			Why: "i_env names the PortaBilling environment: a token for another one is not for this Application",
			run: func(ctx context.Context, r *runner) (verdict, error) {
				if r.creds.cfg.IEnv == nil {
					r.cur.Answer = "-"
					return verdict{grade: Skip, msg: "no --i-env given: the i_env claim is not checked"}, nil
				}
				return refused(tok(variant{claims: "other-i-env"}), "it accepts tokens for another i_env")(ctx, r)
			}},
	}
}
