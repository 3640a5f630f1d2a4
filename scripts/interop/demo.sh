#!/usr/bin/env bash
# demo.sh — the README's first command, `casty-cli demo`, as a user runs it (no internet):
#
#   (a) with its standard output a file (as under a pipe or a service manager), the "Give VLC this URL" line is
#       there within 10 s — it is flushed at once, not when a buffer fills;
#   (b) mpg123 plays that URL: at least 3 s of decoded sound, not silence;
#   (c) a player asking for titles (Icy-MetaData: 1) gets the demo's title in the stream;
#   (d) /status.json on the same port says the proxy is streaming from its built-in station;
#   (e) Ctrl-C (SIGINT) ends it with status 0;
#   (f) --access-log, which every command that serves players takes, has a line for mpg123's visit.
# Exit 0 only if every check passed. About 15 s; needs python3, curl and mpg123.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-demo.XXXXXX)
PORT=${PORT:-18731}
pids=()
trap stop_started EXIT
failures=0

"$CLI" demo --port "$PORT" --access-log "$TMP/access.log" >"$TMP/stdout.txt" 2>"$TMP/stderr.txt" &
demo=$!
pids+=("$demo")
says_url() { grep -q "Give VLC this URL:  http://127.0.0.1:$PORT/" "$TMP/stdout.txt"; }
if wait_until 10 says_url; then
    pass "(a) the URL line is written at once to a file: $(head -1 "$TMP/stdout.txt")"
else
    fail "(a) no URL line in standard output within 10 s: '$(head -c 200 "$TMP/stdout.txt")'; log: $(tail -3 "$TMP/stderr.txt")"
fi
URL="http://127.0.0.1:$PORT/"
wait_until 10 listening "$PORT" || fail "(a) nothing listens on $PORT"

timeout 8 mpg123 -q -w "$TMP/demo.wav" "$URL" >"$TMP/mpg123.log" 2>&1
# The WAV's sound, in seconds (44.1 kHz stereo, 16-bit), and whether it is more than silence.
read -r seconds loud < <(python3 - "$TMP/demo.wav" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()[44:]
samples = struct.unpack(f"<{len(data) // 2}h", data[:len(data) // 2 * 2])
print(f"{len(data) / 176400:.1f}", sum(1 for s in samples if abs(s) > 500))
PY
)
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 3 and int(sys.argv[2]) > 10000 else 1)" "${seconds:-0}" "${loud:-0}"; then
    pass "(b) mpg123 decoded $seconds s of sound from $URL ($loud loud samples)"
else
    fail "(b) mpg123 decoded ${seconds:-0} s ($loud loud samples): $(tail -3 "$TMP/mpg123.log")"
fi

curl -s --max-time 4 -H "Icy-MetaData: 1" -D "$TMP/head.txt" -o "$TMP/stream.bin" "$URL"
if grep -qi "^icy-metaint:" "$TMP/head.txt" && grep -aq "StreamTitle='Casty demo tone" "$TMP/stream.bin"; then
    pass "(c) the stream carries the demo's title: $(grep -ao "StreamTitle='[^']*'" "$TMP/stream.bin" | head -1)"
else
    fail "(c) no StreamTitle in 4 s of the stream (head: $(tr '\r\n' '  ' <"$TMP/head.txt" | cut -c1-200))"
fi

status=$(curl -s --max-time 3 "${URL}status.json")
if [[ "$status" == *streaming* ]]; then
    pass "(d) /status.json says the relay is streaming"
else
    fail "(d) /status.json: $(echo "$status" | cut -c1-300)"
fi

kill -INT "$demo"
code=0
wait "$demo" || code=$?
if [ "$code" = 0 ]; then pass "(e) Ctrl-C ends the demo with status 0"; else fail "(e) after SIGINT the demo exited with status $code"; fi

if grep -q '"GET / HTTP/1.[01]" 200 [0-9]* "-" "mpg123' "$TMP/access.log" 2>/dev/null; then
    pass "(f) the access log tells mpg123's visit: $(grep -m1 mpg123 "$TMP/access.log")"
else
    fail "(f) no access-log line for mpg123: '$(head -c 300 "$TMP/access.log" 2>/dev/null)'"
fi

if ((failures > 0)); then
    echo "--- demo log"; tail -20 "$TMP/stderr.txt"
    echo "FAIL: demo: $failures checks failed"
    exit 1
fi
echo "PASS: demo: every check passed"
