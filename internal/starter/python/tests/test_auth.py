"""The schemes against PortaBilling's documented examples (the first
known-answer vector of each) and their near misses."""
import base64
import hashlib
import hmac
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import espf_auth  # noqa: E402

DOC_DATE = "Thu, 12 Apr 2018 15:24:00 GMT"
DOC_NOW = 1523546640  # DOC_DATE as Unix seconds


def token(claims, key="superkey", alg="HS256"):
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = enc(json.dumps({"alg": alg}, separators=(",", ":")).encode())
    body = enc(json.dumps(claims, separators=(",", ":")).encode())
    sig = enc(hmac.new(key.encode(), (head + "." + body).encode(), hashlib.sha256).digest())
    return "Bearer %s.%s.%s" % (head, body, sig)


class Schemes(unittest.TestCase):
    def test_basic(self):
        c = {"scheme": "basic", "users": ["username"], "passwords": ["secret"]}
        self.assertIsNone(espf_auth.verify("Basic dXNlcm5hbWU6c2VjcmV0", "", c))
        c2 = {"scheme": "basic", "users": ["EventUser"], "passwords": ["p:ss:word"]}
        self.assertIsNone(espf_auth.verify("Basic RXZlbnRVc2VyOnA6c3M6d29yZA==", "", c2))  # colons in the password
        for wrong in ("Basic dXNlcm5hbWU6U0VDUkVU",  # username:SECRET
                      "Basic VVNFUk5BTUU6c2VjcmV0",  # USERNAME:secret
                      "Bearer dXNlcm5hbWU6c2VjcmV0", ""):
            self.assertIsNotNone(espf_auth.verify(wrong, "", c), wrong)

    def test_custom(self):
        c = {"scheme": "custom", "name": "Plain", "credentials": ["passexample"]}
        self.assertIsNone(espf_auth.verify("Plain passexample", "", c))
        for wrong in ("Plain PASSEXAMPLE", "Token passexample", "Plain passexamplf", "passexample"):
            self.assertIsNotNone(espf_auth.verify(wrong, "", c), wrong)

    def test_signature(self):
        c = {"scheme": "signature", "key_ids": ["test"], "keys": ["signature_key"], "max_skew_seconds": 300}
        doc = 'Signature keyId="test",algorithm="hmac-sha1",signature="+IkiEg9UkyA+gh+pcI64itisKhs="'
        self.assertIsNone(espf_auth.verify(doc, DOC_DATE, c, now=DOC_NOW))
        self.assertIsNone(espf_auth.verify(doc.replace(",", ", "), DOC_DATE, c, now=DOC_NOW))  # spaces after commas
        self.assertIsNotNone(espf_auth.verify(doc, DOC_DATE, c, now=DOC_NOW + 3600), "an hour old")
        self.assertIsNotNone(espf_auth.verify(doc, DOC_DATE, c, now=DOC_NOW - 3600), "an hour ahead")
        self.assertIsNotNone(espf_auth.verify(doc, "", c, now=DOC_NOW), "no Date")
        self.assertIsNotNone(espf_auth.verify(doc.replace("test", "TEST"), DOC_DATE, c, now=DOC_NOW), "keyId case")
        self.assertIsNotNone(espf_auth.verify(doc.replace("hmac-sha1", "hmac-sha256"), DOC_DATE, c, now=DOC_NOW))
        self.assertIsNotNone(espf_auth.verify(doc, "Thu, 12 Apr 2018 15:23:00 GMT", c, now=DOC_NOW), "another Date")

    def test_bearer(self):
        c = {"scheme": "bearer", "keys": ["superkey"], "i_env": 3, "max_skew_seconds": 300}
        doc = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJpX2VudiI6MywiRXhwIjoxNTYwMzQyMzE2fQ.PONYERv3xYs5g--XwbflOcaWddSuUNt7hAQqvoEcO4Q"
        self.assertIsNone(espf_auth.verify(doc, "", c, now=1560342316 - 60))
        self.assertIsNotNone(espf_auth.verify(doc, "", c, now=1560342316 + 3600), "expired")
        now = 2_000_000_000
        self.assertIsNone(espf_auth.verify(token({"i_env": 3, "Exp": now + 60}), "", c, now=now))
        self.assertIsNotNone(espf_auth.verify(token({"i_env": 3}), "", c, now=now), "no expiry")
        self.assertIsNotNone(espf_auth.verify(token({"i_env": 4, "Exp": now + 60}), "", c, now=now), "another i_env")
        self.assertIsNotNone(espf_auth.verify(token({"i_env": 3, "Exp": now + 60}, alg="HS512"), "", c, now=now), "HS512")
        self.assertIsNotNone(espf_auth.verify(token({"i_env": 3, "Exp": now + 60}, key="other"), "", c, now=now), "another key")
        unsigned = token({"i_env": 3, "Exp": now + 60}, alg="none").rsplit(".", 1)[0] + "."
        self.assertIsNotNone(espf_auth.verify(unsigned, "", c, now=now), "alg none")


if __name__ == "__main__":
    unittest.main()
