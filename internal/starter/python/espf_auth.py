"""The four ESPF authorization schemes, checked as contract section 3 says.

verify(headers, config, now) returns None when the credentials are right,
or the reason they are not (never a secret). Secrets are compared in
constant time (hmac.compare_digest).
"""
import base64
import binascii
import email.utils
import hashlib
import hmac
import json
import re
import time

DEFAULT_MAX_SKEW = 300  # seconds: the bound on a Signature Date's age and a Bearer Exp's leeway

_PARAM = re.compile(r'\s*([A-Za-z]+)="([^"]*)"\s*(?:,|$)')


def _same(a, b):
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _split(value):
    """'Scheme rest' -> ('scheme' lowercased, 'rest')."""
    name, _, rest = value.partition(" ")
    return name.lower(), rest


def verify(header_value, date_value, config, now=None):
    """Checks one request's credentials header; date_value is its Date header."""
    if now is None:
        now = time.time()
    if not header_value:
        return "no credentials header"
    scheme = config["scheme"]
    if scheme == "basic":
        return _basic(header_value, config)
    if scheme == "custom":
        return _custom(header_value, config)
    if scheme == "signature":
        return _signature(header_value, date_value, config, now)
    if scheme == "bearer":
        return _bearer(header_value, config, now)
    return "unknown scheme " + scheme


def _basic(value, config):
    name, rest = _split(value)
    if name != "basic":
        return "not Basic credentials"
    try:
        raw = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "credentials are not base64 of user:password"
    user, colon, password = raw.partition(":")  # passwords may hold colons
    if not colon:
        return "credentials have no colon"
    ok = False
    users, passwords = config["users"], config["passwords"]
    for i, want in enumerate(passwords):
        want_user = users[min(i, len(users) - 1)]
        # both compared, always, so the time does not say which one was wrong
        ok |= _same(user, want_user) & _same(password, want)
    return None if ok else "wrong user or password"


def _custom(value, config):
    name, rest = _split(value)
    if name != config["name"].lower():
        return "another scheme name"
    ok = False
    for want in config["credentials"]:
        ok |= _same(rest, want)
    return None if ok else "wrong credentials"


def _signature(value, date_value, config, now):
    name, rest = _split(value)
    if name != "signature":
        return "not Signature credentials"
    params, pos = {}, 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m:
            return "malformed Signature parameters"
        params[m.group(1)] = m.group(2)
        pos = m.end()
    if params.get("algorithm") != "hmac-sha1":
        return "algorithm is not hmac-sha1"
    if not date_value:
        return "no Date header (it is what is signed)"
    try:
        sent = email.utils.parsedate_to_datetime(date_value).timestamp()
    except (TypeError, ValueError):
        return "Date is not an HTTP date"
    skew = config.get("max_skew_seconds", DEFAULT_MAX_SKEW)
    if skew and abs(now - sent) > skew:
        return "Date is more than %d s from this server's clock" % skew
    ok = False
    for key_id, key in zip(_pad(config["key_ids"], len(config["keys"])), config["keys"]):
        want = base64.b64encode(hmac.new(key.encode("utf-8"), date_value.encode("utf-8"), hashlib.sha1).digest()).decode()
        ok |= _same(params.get("keyId", ""), key_id) & _same(params.get("signature", ""), want)
    return None if ok else "wrong keyId or signature"


def _pad(ids, n):
    """key ids paired with keys by position; the last id serves the rest."""
    return [ids[min(i, len(ids) - 1)] for i in range(n)]


def _b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _bearer(value, config, now):
    name, token = _split(value)
    if name != "bearer":
        return "not Bearer credentials"
    parts = token.strip().split(".")
    if len(parts) != 3:
        return "not a JWT"
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        sig = _b64url(parts[2])
    except (ValueError, binascii.Error):
        return "not a JWT"
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return "alg is not HS256"
    signing = (parts[0] + "." + parts[1]).encode("ascii", "replace")
    ok = False
    for key in config["keys"]:
        ok |= hmac.compare_digest(sig, hmac.new(key.encode("utf-8"), signing, hashlib.sha256).digest())
    if not ok:
        return "wrong signature"
    if not isinstance(claims, dict):
        return "claims are not an object"
    skew = config.get("max_skew_seconds", DEFAULT_MAX_SKEW)
    expiries = [claims[k] for k in ("Exp", "exp") if k in claims]  # PortaBilling writes Exp, capital E
    if not expiries:
        return "token has no expiry"
    for exp in expiries:
        if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp + skew < now:
            return "token expired"
    i_env = claims.get("i_env")
    if config.get("i_env") is not None and (type(i_env) is not int or i_env != config["i_env"]):
        return "token is for another i_env"
    return None
