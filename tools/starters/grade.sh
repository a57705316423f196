#!/bin/sh
# grade.sh LANG SCHEME [PORT]: writes espfctl init's starter for LANG with
# SCHEME's credentials in a temporary directory, starts it with its restart
# script, and grades it as .ci/run's tests do: check --strict (every case,
# the final state included), then send --lifecycle with three restarts.
# Prints each command's summary; exits non-zero when one fails.
# ESPFCTL names the binary (default: espfctl on PATH).
set -u
lang=$1 scheme=$2 port=${3:-18300}
espfctl=${ESPFCTL:-espfctl}
dir=$(mktemp -d)/app
case $scheme in
basic) set -- --auth basic --user pb; export ESPFCTL_PASSWORD=Pa55-word ;;
custom) set -- --auth custom --scheme Plain; export ESPFCTL_CREDENTIALS=Cr3dential5 ;;
signature) set -- --auth signature --key-id k1; export ESPFCTL_KEY=S1gning-Key ;;
bearer) set -- --auth bearer --i-env 3; export ESPFCTL_KEY=Token-Key ;;
*) echo "scheme: basic, custom, signature or bearer" >&2; exit 2 ;;
esac
"$espfctl" init "$lang" "$dir" "$@" >/dev/null 2>&1 || exit 2
"$dir/restart" "$port" || exit 3
trap 'kill -KILL -- "-$(cat "$dir/data/pid")" 2>/dev/null' EXIT
url=http://127.0.0.1:$port
"$espfctl" check --url "$url/espf" "$@" --strict --soak 0 --state-url "$url/state/{group}/{id}" >/dev/null 2>"$dir.check"
c=$?
echo "$lang $scheme check exit $c: $(grep -o '[0-9]* passed.*' "$dir.check")"
"$espfctl" send --url "$url/espf" "$@" --lifecycle --no-progress --state-url "$url/state/{group}/{id}" \
  --restart-cmd "$dir/restart $port" >"$dir.send" 2>&1
s=$?
echo "$lang $scheme send --lifecycle --restart-cmd exit $s: $(grep -E '^(restarts|lost after 200|applied twice|match|mismatch)\s' "$dir.send" | tr '\t\n' '  ')"
[ "$c" = 0 ] && [ "$s" = 0 ]
