#!/usr/bin/env bash
# serve --max-body 11000000 takes one 10 MB event, then its inspector page is
# viewed 10 times at once and its body downloaded: serve's RSS before the
# views and its peak (VmHWM). Not run in CI; Linux only (/proc).
#
#   tools/hardening/view.sh [OUT_DIR]        # BIN=path/to/espfctl to measure another build
set -euo pipefail
out=${1:-view-out}
mkdir -p "$out"
bin=${BIN:-$out/espfctl}
[ -n "${BIN:-}" ] || go build -o "$bin" ./cmd/espfctl
rm -f "$out/addr" "$out/j.db"*
"$bin" serve --listen 127.0.0.1:0 --ready-file "$out/addr" --admin-listen 127.0.0.1:0 --auth basic --user u --password p \
  --max-body 11000000 --journal "$out/j.db" >/dev/null 2>"$out/serve.err" &
pid=$!
while [ ! -s "$out/addr" ]; do sleep 0.1; done
addr=$(cat "$out/addr"); admin=$(grep -o 'admin on http://[0-9.:]*' "$out/serve.err" | sed 's/admin on //')
python3 -c 'import json; print(json.dumps({"event_type": "Subscriber/Created", "variables": {"i_event": "42", "i_account": 7, "note": "x" * 10000000}}), end="")' >"$out/body.json"
curl -s -o /dev/null -w 'delivered: %{http_code}\n' -u u:p -H 'Content-Type: application/json' \
  -H "Date: $(date -u '+%a, %d %b %Y %H:%M:%S GMT')" --data-binary @"$out/body.json" "http://$addr/"
grep VmRSS /proc/$pid/status
pids=""
for i in $(seq 10); do curl -s -o /dev/null -w 'view %{http_code} %{size_download} bytes in %{time_total}s\n' "$admin/ui/d/first/42" & pids="$pids $!"; done
wait $pids
grep VmHWM /proc/$pid/status | sed 's/^/after the views: /'
curl -s -o /dev/null -w 'download %{http_code} %{size_download} bytes in %{time_total}s\n' "$admin/ui/d/first/42/body"
grep -E 'VmRSS|VmHWM' /proc/$pid/status | sed 's/^/after the download: /'
kill -INT $pid; wait $pid || true
