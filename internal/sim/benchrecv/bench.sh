#!/bin/sh
# Reproduces BENCHMARKS.md "## send": every figure against one benchrecv
# (a fast loopback receiver that verifies the Signature header), in one run.
#   sh internal/sim/benchrecv/bench.sh            # from the module root
# Needs python3 (to read --json) and /usr/bin/time; vegeta is optional:
#   GOBIN=/tmp/bin go install github.com/tsenart/vegeta/v12@latest
set -eu
OUT=${OUT:-/tmp/espfctl-bench}
mkdir -p "$OUT"
go build -o "$OUT/espfctl" ./cmd/espfctl
go build -o "$OUT/benchrecv" ./internal/sim/benchrecv
ADDR=127.0.0.1:8099
"$OUT/benchrecv" -addr $ADDR -key-id test -key s3cret 2>"$OUT/recv.log" &
RECV=$!
trap 'kill $RECV' EXIT
sleep 1
kill -0 $RECV 2>/dev/null || { cat "$OUT/recv.log"; exit 1; } # e.g. the port is taken
SEND="$OUT/espfctl send --url http://$ADDR/espf --auth signature --key-id test --key s3cret --json"

row() { # events-per-second duration
	$SEND --rate "$1/s" --duration "$2" >"$OUT/send-$1.json" 2>/dev/null || true
	python3 - "$OUT/send-$1.json" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
o = s["outcomes"]
ok = o["delivered_first_try"] + o["delivered_after_retries"]
print(f'{sys.argv[2]+"/s":>8}  events {s["events"]:>7}  delivered {ok:>7}  achieved/target {s["achieved_rate_per_s"]/max(s["target_rate_per_s"],1e-9):.4f}'
      f'  send-error p50 {s["send_error"]["p50_ms"]:.3f} ms p99 {s["send_error"]["p99_ms"]:.3f} ms'
      f'  latency p50 {s["latency"]["p50_ms"]:.3f} p99 {s["latency"]["p99_ms"]:.3f} ms  cap_bound {s.get("cap_bound",0)}')
PY
}

echo "== machine: $(nproc) cores, $(uptime)"
echo "== espfctl send, Signature auth, 30 s at 10/s and 1,000/s"
row 10 30s
row 1000 30s
vegeta_row() { # events-per-second
	command -v vegeta >/dev/null 2>&1 || return 0
	H=$("$OUT/espfctl" sign signature --key-id test --key s3cret --http) # fresh Date: within the receiver's 1 min skew
	{ echo "POST http://$ADDR/espf"; echo "$H"; echo "Content-Type: application/json"; echo "@$OUT/body.json"; } >"$OUT/targets.txt"
	vegeta attack -targets "$OUT/targets.txt" -rate "$1" -duration 10s | vegeta report -type json >"$OUT/vegeta-$1.json"
	python3 -c "import json;s=json.load(open('$OUT/vegeta-$1.json'));print(('$1/s').rjust(8),' vegeta  requests %7d  success %.4f  achieved/target %.4f  latency p50 %.3f p99 %.3f ms' % (s['requests'], s['success'], s['rate']/$1, s['latencies']['50th']/1e6, s['latencies']['99th']/1e6))"
}
printf '{"event_type":"Subscriber/Created","variables":{"i_account":1000889,"i_event":7615}}' >"$OUT/body.json"
echo "== 10 s steps, espfctl send then vegeta (pre-signed header: vegeta cannot sign per request) back to back"
for r in 2000 4000 5000 6000 8000 10000 12000; do row $r 10s; vegeta_row $r; done
echo "== peak RSS, 1,000,000 events at 5,000/s, no --results"
/usr/bin/time -v $SEND --rate 5000/s --count 1000000 >"$OUT/send-1m.json" 2>"$OUT/time-1m.txt" || true
grep -E "Maximum resident|Elapsed" "$OUT/time-1m.txt"
python3 -c "import json;s=json.load(open('$OUT/send-1m.json'));print('events',s['events'],'achieved/target %.4f' % (s['achieved_rate_per_s']/s['target_rate_per_s']),'send-error p99',s['send_error']['p99_ms'],'ms')"
echo "== done: $(uptime)"
