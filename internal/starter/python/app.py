#!/usr/bin/env python3
"""An ESPF Application: PortaBilling's provisioning events at /espf.

It answers exactly 200 only after the event, its i_event and your work
(provision.py) are committed in one transaction; a repeat of an i_event
already committed is answered 200 without calling provision again; an
entity's events are applied only forward in i_event order (a Deleted
leaves a tombstone). GET /state/{group}/{id} shows an entity's state for
espfctl's --state-url. It is a WSGI application (app) that runs under any
WSGI server; `python3 app.py PORT` serves it on 127.0.0.1:PORT.
"""
import datetime
import json
import os
import sqlite3
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import espf_auth
import provision as user

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_BODY = 1 << 20  # the most a delivery may carry; bigger is answered 413

# The entity an event is about: its group, and the variable naming it.
GROUPS = {
    "Subscriber": ("subscriber", "i_account"),
    "Account": ("subscriber", "i_account"),
    "Customer": ("customer", "i_customer"),
    "Invoice": ("invoice", "i_invoice"),
    "DID": ("did", "number"),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    i_event     INTEGER PRIMARY KEY,
    event_type  TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    grp     TEXT NOT NULL,
    id      TEXT NOT NULL,
    present INTEGER NOT NULL,
    i_event INTEGER NOT NULL,
    applied INTEGER NOT NULL,
    PRIMARY KEY (grp, id)
);
"""


def load_config():
    path = os.environ.get("ESPF_CONFIG", os.path.join(HERE, "config.json"))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class BadEvent(Exception):
    pass


def classify(event_type):
    """(group, id variable, action) of an event type; action is created,
    updated, deleted or None (not a lifecycle step); group None when the
    type is about no entity."""
    head, _, rest = event_type.partition("/")
    if head not in GROUPS:
        return None, None, None
    group, var = GROUPS[head]
    if rest in ("Created", "New"):
        action = "created"
    elif rest == "Updated":
        action = "updated"
    elif rest == "Deleted":
        action = "deleted"
    elif "/" in rest and rest != "Status/Closed":
        action = "updated"  # Account/AccessPolicy/Changed and the like
    else:
        action = None
    return group, var, action


def entity_id(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def parse(body):
    """The event, or BadEvent: a JSON object with a string event_type and a
    variables object holding an integer i_event (digits in a string too)."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadEvent("body is not JSON")
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str) or not event["event_type"]:
        raise BadEvent("no event_type")
    variables = event.get("variables")
    if not isinstance(variables, dict):
        raise BadEvent("variables is not an object")
    i_event = variables.get("i_event")
    if isinstance(i_event, str) and i_event.isdigit():
        i_event = int(i_event)
    if isinstance(i_event, bool) or not isinstance(i_event, int):
        raise BadEvent("no integer i_event")
    return event, i_event


class Store:
    """The SQLite database: one connection per thread, WAL, full sync."""

    def __init__(self, path):
        self.path = path
        self.local = threading.local()
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.db().executescript(SCHEMA + getattr(user, "SCHEMA", ""))

    def db(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self.local.conn = conn
        return conn

    def deliver(self, event, i_event, body):
        """Commits the event with its work; returns 'repeat', 'applied',
        'stale' (older than the entity's state: recorded, not applied) or
        'recorded' (about no entity)."""
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM events WHERE i_event = ?", (i_event,)).fetchone():
                db.execute("COMMIT")
                return "repeat"
            outcome = "recorded"
            group, var, action = classify(event["event_type"])
            eid = entity_id(event["variables"].get(var)) if group else None
            if action and eid is not None:
                row = db.execute("SELECT i_event FROM entities WHERE grp = ? AND id = ?", (group, eid)).fetchone()
                if row is None or i_event > row[0]:
                    db.execute(
                        "INSERT INTO entities(grp, id, present, i_event, applied) VALUES(?, ?, ?, ?, 1) "
                        "ON CONFLICT(grp, id) DO UPDATE SET present = excluded.present, i_event = excluded.i_event, "
                        "applied = applied + 1",
                        (group, eid, 0 if action == "deleted" else 1, i_event))
                    outcome = "applied"
                else:
                    outcome = "stale"
            if outcome != "stale":
                user.provision(event, db)
            db.execute("INSERT INTO events(i_event, event_type, body, received_at) VALUES(?, ?, ?, ?)",
                       (i_event, event["event_type"], body.decode("utf-8", "replace"), now_iso()))
            db.execute("COMMIT")
            return outcome
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def state(self, group, eid):
        row = self.db().execute("SELECT present, i_event, applied FROM entities WHERE grp = ? AND id = ?",
                                (group, eid)).fetchone()
        if row is None:
            return None
        return {"exists": bool(row[0]), "i_event": row[1], "applied": row[2]}


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log(*fields):
    print(now_iso(), *fields, sep="\t", file=sys.stderr, flush=True)


class App:
    """The WSGI application."""

    def __init__(self, config, db_path):
        self.config = config
        self.store = Store(db_path)
        header = config.get("header", "Authorization")
        self.header_key = "HTTP_" + header.upper().replace("-", "_")

    def __call__(self, environ, start_response):
        status, body = self.handle(environ)
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def handle(self, environ):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        why = espf_auth.verify(environ.get(self.header_key, ""), environ.get("HTTP_DATE", ""), self.config)
        if path.startswith("/state/") and method == "GET":
            if why:
                return answer(401, "unauthorized")
            group, _, eid = path[len("/state/"):].partition("/")
            st = self.store.state(group, eid)
            if st is None:
                return "404 Not Found", b'{"exists": false}\n'
            return "200 OK", (json.dumps(st) + "\n").encode()
        if path != "/espf":
            return answer(404, "not found: events go to /espf")
        if method != "POST":
            return answer(405, "POST events to /espf")
        if why:
            log("-", "-", "-", 401, why)
            return answer(401, "unauthorized")
        try:
            length = int(environ.get("CONTENT_LENGTH") or "-1")
        except ValueError:
            length = -1
        if length < 0:
            return answer(411, "a Content-Length is required")
        if length > MAX_BODY:
            log("-", "-", "-", 413, "body of %d bytes" % length)
            return answer(413, "the body is over %d bytes" % MAX_BODY)
        body = environ["wsgi.input"].read(length)
        try:
            event, i_event = parse(body)
        except BadEvent as e:
            log("-", "-", "-", 400, e)
            return answer(400, str(e))
        try:
            outcome = self.store.deliver(event, i_event, body)
        except Exception as e:  # the work failed: 500, and the ESPF re-sends the event
            log(i_event, event["event_type"], "-", 500, "%s: %s" % (type(e).__name__, e))
            return answer(500, "the event could not be processed; it will be re-sent")
        log(i_event, event["event_type"], entity_of(event), 200, outcome)
        return "200 OK", b'{"ok": true}\n'


def entity_of(event):
    group, var, _ = classify(event["event_type"])
    eid = entity_id(event["variables"].get(var)) if group else None
    return "%s/%s" % (group, eid) if eid is not None else "-"


def answer(code, message):
    reason = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
              411: "Length Required", 413: "Payload Too Large", 500: "Internal Server Error"}[code]
    return "%d %s" % (code, reason), (json.dumps({"error": message}) + "\n").encode()


def application(environ, start_response, _app=[]):
    """The module-level WSGI callable for production servers
    (gunicorn app:application); the database is data/espf.db."""
    if not _app:
        _app.append(App(load_config(), os.path.join(HERE, "data", "espf.db")))
    return _app[0](environ, start_response)


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # bursts: the ESPF sends many events at once


class Quiet(WSGIRequestHandler):
    timeout = 60  # a client that stops sending is dropped

    def log_message(self, *args):  # one line per event is logged by the App
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080  # 0: a free port, named in the first line
    app = App(load_config(), os.path.join(HERE, "data", "espf.db"))
    with make_server("127.0.0.1", port, app, server_class=Server, handler_class=Quiet) as srv:
        with open(os.path.join(HERE, "data", "pid"), "w") as f:  # for a restart command: kill -KILL $(cat data/pid)
            f.write("%d\n" % os.getpid())
        log("-", "-", "-", "-", "listening on http://127.0.0.1:%d/espf" % srv.server_port)
        srv.serve_forever()


if __name__ == "__main__":
    main()
