#!/usr/bin/env bash
# A default serve that already holds 600 idle keep-alive connections (each
# delivered one event, then went quiet, as a sender's pool does after a
# burst), then a default send --rate 2000/s --duration 10s. Prints send's
# outcomes and service-time percentiles. Not run in CI.
#
#   tools/hardening/idle.sh [OUT_DIR]        # BIN=path/to/espfctl to measure another build
set -euo pipefail
out=${1:-idle-out}
mkdir -p "$out"
bin=${BIN:-$out/espfctl}
[ -n "${BIN:-}" ] || go build -o "$bin" ./cmd/espfctl
go build -o "$out/idlekeep" ./tools/idlekeep
rm -f "$out/addr" "$out/idle.out"
"$bin" serve --listen 127.0.0.1:0 --ready-file "$out/addr" --auth basic --user u --password p --journal "$out/j.db" >/dev/null 2>"$out/serve.err" &
srv=$!
while [ ! -s "$out/addr" ]; do sleep 0.1; done
addr=$(cat "$out/addr")
"$out/idlekeep" -url "http://$addr/" -n 600 -user u -password p >"$out/idle.out" 2>"$out/idle.err" &
idle=$!
i=0; while [ ! -s "$out/idle.out" ] && [ $i -lt 25 ]; do sleep 0.2; i=$((i+1)); done # all answered, or 5 s
"$bin" send --url "http://$addr/" --auth basic --user u --password p --rate 2000/s --duration 10s --json --no-progress >"$out/send.json" 2>"$out/send.err" || true
python3 - "$out/send.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d.get("summary", d)
print("events", s["events"], s["outcomes"], "achieved %d/s" % s["achieved_rate_per_s"])
print("service ms", {k: round(v, 1) for k, v in s["service"].items() if k != "count"})
PY
kill $idle; kill -INT $srv; wait $srv || true
cat "$out/idle.err"
