#!/bin/sh
# Old against new send, interleaved, on one benchrecv: BENCHMARKS.md "## send",
# "RSS depends on whether the receiver hiccups". From the module root:
#   sh internal/sim/benchrecv/ab.sh [OLD-COMMIT]      # default: main
# Each round sends 300,000 events at 5,000/s with the old binary, then the
# new one (this checkout), and prints delivered, achieved/target, send error,
# cap bound, peak RSS and CPU per event. Needs python3 and /usr/bin/time.
set -eu
OLD=${1:-main}
OUT=${OUT:-/tmp/espfctl-ab}
rm -rf "$OUT/old-src" && mkdir -p "$OUT/old-src"
git archive "$OLD" | tar -x -C "$OUT/old-src"
(cd "$OUT/old-src" && go build -o "$OUT/espfctl-old" ./cmd/espfctl)
go build -o "$OUT/espfctl-new" ./cmd/espfctl
go build -o "$OUT/benchrecv" ./internal/sim/benchrecv
ADDR=127.0.0.1:8099
"$OUT/benchrecv" -addr $ADDR -key-id test -key s3cret 2>"$OUT/recv.log" &
RECV=$!
trap 'kill $RECV' EXIT
sleep 1
kill -0 $RECV 2>/dev/null || { cat "$OUT/recv.log"; exit 1; }
for round in 1 2; do
	for v in old new; do
		/usr/bin/time -v "$OUT/espfctl-$v" send --url http://$ADDR/espf --auth signature --key-id test --key s3cret --json \
			--rate 5000/s --count 300000 >"$OUT/$v-$round.json" 2>"$OUT/$v-$round.time" || true
		python3 - "$OUT/$v-$round.json" "$OUT/$v-$round.time" $v $round <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1])); t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = sum(float(re.search(k + r" time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
o = s["outcomes"]
print(f'{sys.argv[3]} round {sys.argv[4]}: delivered {o["delivered_first_try"]+o["delivered_after_retries"]}/{s["events"]}'
      f' achieved/target {s["achieved_rate_per_s"]/s["target_rate_per_s"]:.4f} send-error p50 {s["send_error"]["p50_ms"]:.3f}'
      f' p99 {s["send_error"]["p99_ms"]:.3f} ms cap_bound {s.get("cap_bound", 0)} RSS {rss//1024} MB'
      f' CPU {cpu:.1f} s ({cpu/s["events"]*1e6:.0f} us/event)')
PY
		echo "   load $(cut -d' ' -f1-3 /proc/loadavg)"
	done
done
