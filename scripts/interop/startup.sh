#!/usr/bin/env bash
# startup.sh — a relay whose upstream is bad at start-up keeps running (hardening issue, defect 2).
#
# A python3 standard-library server answers `404 Not Found` where the station should be. `casty-cli proxy` in
# front of it must keep running, log one line per attempt naming the problem, and answer players `503` with
# `Retry-After`. Then the broken server goes and `casty-cli station` takes its port: the proxy must stream
# within a few seconds, without a restart. Finally a second proxy on the same player port must exit with
# status 1 and one error line (a port in use is a mistake to fix at once).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-startup.XXXXXX)
UP_PORT=${UP_PORT:-18720}
PLAYER_PORT=${PLAYER_PORT:-18721}
pids=()
trap stop_started EXIT
fail() { echo "FAIL: $*"; echo "--- proxy log"; cat "$TMP/proxy.log"; exit 1; }

python3 - "$UP_PORT" >"$TMP/broken.log" 2>&1 <<'PY' &
import http.server, socketserver, sys
class NotHere(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<h1>no such mount</h1>")
    def log_message(self, *args):
        pass
socketserver.TCPServer.allow_reuse_address = True
socketserver.TCPServer(("127.0.0.1", int(sys.argv[1])), NotHere).serve_forever()
PY
broken=$!
pids+=("$broken")
wait_until 10 listening "$UP_PORT" || fail "the broken python3 server did not start"

"$CLI" proxy "http://127.0.0.1:$UP_PORT/live" --port "$PLAYER_PORT" >"$TMP/proxy.log" 2>&1 &
proxy=$!
pids+=("$proxy")
sleep 3
kill -0 "$proxy" 2>/dev/null || fail "the proxy exited while its upstream answered 404"
attempts=$(grep -c "404 Not Found; retrying in" "$TMP/proxy.log" || true)
((attempts >= 2)) || fail "expected a log line per attempt naming the 404, saw $attempts"
echo "PASS: the proxy keeps running against a 404 upstream ($attempts attempts logged in 3 s)"

# plays HOST PORT BYTES — a player asking HOST:PORT for the stream gets 200 OK and at least BYTES bytes.
plays() {
    python3 - "$@" <<'PY'
import socket, sys
host, port, enough = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family, socket.SOCK_STREAM) as s:
    s.settimeout(5)
    s.connect((host, port))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while len(data) < enough:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
sys.exit(0 if data.startswith(b"HTTP/1.0 200 OK") and len(data) >= enough else 1)
PY
}

head=$(python3 - "$PLAYER_PORT" <<'PY'
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    s.sendall(b"GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
print(data.split(b"\r\n\r\n")[0].decode("latin-1"))
PY
)
[[ $head == "HTTP/1.0 503 Service Unavailable"* ]] || fail "a player got '$head' instead of 503"
grep -q "^Retry-After: " <<<"${head//$'\r'/}" || fail "the 503 has no Retry-After: $head"
echo "PASS: a player gets 503 with Retry-After while no stream has arrived"

kill "$broken"
wait "$broken" 2>/dev/null || true
"$CLI" station --port "$UP_PORT" --segment-bytes 2048 >"$TMP/station.log" 2>&1 &
pids+=($!)
started=$(now_ms)
wait_until 15 plays 127.0.0.1 "$PLAYER_PORT" 20000 || fail "no audio within 15 s of the station coming up"
echo "MEASURE: audio through the proxy $(($(now_ms) - started)) ms after the station came up"
echo "PASS: the proxy streams once the station is up, without a restart"

set +e
"$CLI" proxy "http://127.0.0.1:$UP_PORT/" --port "$PLAYER_PORT" >"$TMP/second.log" 2>&1 &
second=$!
pids+=("$second")
wait_until 5 bash -c "! kill -0 $second 2>/dev/null"
wait "$second"
status=$?
set -e
((status == 1)) || fail "a proxy on a port in use exited with $status, expected 1"
grep -q "address already in use" "$TMP/second.log" || fail "no 'address already in use' line: $(cat "$TMP/second.log")"
echo "PASS: a port in use ends the proxy with status 1 and one error line"

# Segments too short to time anything by are a usage mistake, told at once (they once crashed the relay).
set +e
"$CLI" proxy "http://127.0.0.1:$UP_PORT/" --port "$((PLAYER_PORT + 3))" --segment-bytes 8 >"$TMP/tiny.log" 2>&1
status=$?
set -e
((status == 1)) || fail "--segment-bytes 8 exited with $status, expected 1"
grep -q -- "--segment-bytes must be a whole number from 1024 to 1048576, not '8'" "$TMP/tiny.log" || fail "no usage line: $(cat "$TMP/tiny.log")"
echo "PASS: --segment-bytes below 1024 is a usage mistake (status 1, one line)"

# --host :: listens on every interface, IPv6 and IPv4 alike.
V6_PORT=$((PLAYER_PORT + 2))
"$CLI" proxy "http://127.0.0.1:$UP_PORT/" --host :: --port "$V6_PORT" >"$TMP/v6.log" 2>&1 &
pids+=($!)
wait_until 15 plays ::1 "$V6_PORT" 10000 || fail "no audio over IPv6 from a proxy on --host ::"
plays 127.0.0.1 "$V6_PORT" 10000 || fail "no audio over IPv4 from a proxy on --host ::"
# The start line names the address listened on — every interface — and the URL to open on this machine.
grep -qF "listening on [::]:$V6_PORT (every interface; on this machine http://[::1]:$V6_PORT/)" "$TMP/v6.log" ||
    fail "the listening line does not show [::] and [::1]: $(cat "$TMP/v6.log")"
echo "PASS: a proxy on --host :: serves players over IPv6 and IPv4"
