"""The Application end to end, through its WSGI interface: what it answers
and what it commits."""
import base64
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import app  # noqa: E402
import provision  # noqa: E402

CONFIG = {"scheme": "basic", "header": "Authorization", "users": ["pb"], "passwords": ["s3cret"]}
GOOD = "Basic " + base64.b64encode(b"pb:s3cret").decode()


class Application(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.app = app.App(CONFIG, os.path.join(self.dir.name, "espf.db"))
        self.calls = []
        self.real = provision.provision
        provision.provision = lambda event, db: self.calls.append(event["variables"]["i_event"])

    def tearDown(self):
        provision.provision = self.real
        self.dir.cleanup()

    def post(self, body, auth=GOOD, length=None):
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/espf", "CONTENT_LENGTH": str(len(body) if length is None else length),
               "wsgi.input": io.BytesIO(body), "HTTP_AUTHORIZATION": auth}
        status, _ = self.app.handle(env)
        return int(status.split()[0])

    def state(self, path):
        status, body = self.app.handle({"REQUEST_METHOD": "GET", "PATH_INFO": "/state/" + path, "HTTP_AUTHORIZATION": GOOD})
        return int(status.split()[0]), json.loads(body)

    def ev(self, typ, i_event, **vars):
        return {"event_type": typ, "variables": dict(vars, i_event=i_event)}

    def test_once_per_event(self):
        e = self.ev("Subscriber/Created", 10, i_account=5)
        self.assertEqual(self.post(e), 200)
        self.assertEqual(self.post(e), 200)  # a re-send after a lost 200
        self.assertEqual(self.calls, [10])
        self.assertEqual(self.state("subscriber/5"), (200, {"exists": True, "i_event": 10, "applied": 1}))

    def test_refusals(self):
        self.assertEqual(self.post(self.ev("Subscriber/Created", 1, i_account=1), auth="Basic cGI6UzNDUkVU"), 401)
        self.assertEqual(self.post('{"event_type":"Subscriber/Created","variables":{"i_event":'), 400)
        self.assertEqual(self.post({"variables": {"i_event": 2}}), 400)
        self.assertEqual(self.post({"event_type": "Subscriber/Created", "variables": "x"}), 400)
        self.assertEqual(self.post(self.ev("Subscriber/Created", "x3")), 400)
        self.assertEqual(self.post("{}", length=(1 << 20) + 1), 413)
        self.assertEqual(self.calls, [])

    def test_never_5xx_for_what_it_does_not_know(self):
        self.assertEqual(self.post(self.ev("Espfctl/Unknown", 20, i_account=1)), 200)
        self.assertEqual(self.post(self.ev("Account/AccessPolicy/Changed", 21, i_account=1, extra={"x": 1})), 200)
        self.assertEqual(self.post(self.ev("Subscriber/Created", "22", i_account="7")), 200)  # ids as strings
        self.assertEqual(self.calls, [20, 21, "22"])  # the event as sent

    def test_forward_only(self):
        self.assertEqual(self.post(self.ev("Subscriber/Updated", 31, i_account=9)), 200)  # overtook its Created
        self.assertEqual(self.post(self.ev("Subscriber/Created", 30, i_account=9)), 200)  # late: recorded, not applied
        self.assertEqual(self.state("subscriber/9"), (200, {"exists": True, "i_event": 31, "applied": 1}))
        self.assertEqual(self.post(self.ev("Subscriber/Deleted", 33, i_account=9)), 200)
        self.assertEqual(self.post(self.ev("Subscriber/Updated", 32, i_account=9)), 200)  # re-sent after the Deleted
        self.assertEqual(self.state("subscriber/9"), (200, {"exists": False, "i_event": 33, "applied": 2}))
        self.assertEqual(self.calls, [31, 33])
        self.assertEqual(self.state("subscriber/404")[0], 404)

    def test_failed_work_commits_nothing(self):
        def fail(event, db):
            raise RuntimeError("the billing system is down")
        provision.provision = fail
        self.assertEqual(self.post(self.ev("Customer/Created", 40, i_customer=3)), 500)
        self.assertEqual(self.state("customer/3")[0], 404)
        provision.provision = lambda event, db: self.calls.append(event["variables"]["i_event"])
        self.assertEqual(self.post(self.ev("Customer/Created", 40, i_customer=3)), 200)  # the re-send does the work
        self.assertEqual(self.calls, [40])


if __name__ == "__main__":
    unittest.main()
