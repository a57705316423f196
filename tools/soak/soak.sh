#!/usr/bin/env bash
# A long soak: espfctl send at the ESPF's 10/s into espfctl serve with a file
# journal, both on 127.0.0.1, sampling every minute the RSS of both processes
# and serve's goroutines and heap (from its admin /metrics). Not run in CI.
#
#   tools/soak/soak.sh [MINUTES] [OUT_DIR]     # default 60 minutes, ./soak-out
#
# Prints one TSV line per minute (minute, serve RSS KiB, serve goroutines,
# serve heap in use, send RSS KiB, journal bytes) and writes it to
# OUT_DIR/samples.tsv; send's report goes to OUT_DIR/send.json.
set -euo pipefail
minutes=${1:-60}
out=${2:-soak-out}
mkdir -p "$out"
bin="$out/espfctl"
go build -o "$bin" ./cmd/espfctl
port=$((20000 + RANDOM % 20000))
admin=$((port + 1))
"$bin" serve --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" --auth basic --user pb --password soak-secret \
  --journal "$out/journal.db" >/dev/null 2>"$out/serve.err" &
serve_pid=$!
trap 'kill $serve_pid $send_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$admin/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin" send --url "http://127.0.0.1:$port/" --auth basic --user pb --password soak-secret \
  --rate 10/s --duration "${minutes}m" --no-progress --json >"$out/send.json" 2>"$out/send.err" &
send_pid=$!
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -; }
metric() { curl -fsS "http://127.0.0.1:$admin/metrics" 2>/dev/null | awk -v m="$1" '$1 == m {print $2}'; }
printf 'minute\tserve_rss_kib\tserve_goroutines\tserve_heap_inuse\tsend_rss_kib\tjournal_bytes\n' | tee "$out/samples.tsv"
for m in $(seq 0 "$minutes"); do
  kill -0 "$send_pid" 2>/dev/null || break
  printf '%d\t%s\t%s\t%s\t%s\t%s\n' "$m" "$(rss $serve_pid)" "$(metric go_goroutines)" "$(metric go_memstats_heap_inuse_bytes)" \
    "$(rss $send_pid)" "$(stat -c %s "$out/journal.db" 2>/dev/null || echo -)" | tee -a "$out/samples.tsv"
  sleep 60
done
wait "$send_pid" || echo "send exited $?" >&2
