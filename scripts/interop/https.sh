#!/usr/bin/env bash
# https.sh — Casty as a client of https:// servers, through the system's OpenSSL (loaded at run time): a station
# behind nginx terminating TLS with a certificate made here by openssl, and a platform application on https.
#
# Asserts: `casty-cli proxy https://localhost:PORT/` with the certificate trusted (SSL_CERT_FILE) relays the
# station, and mpg123 decodes it from the proxy; the same station by its IP address (the certificate names it)
# plays too; without the certificate trusted, the proxy does not play a byte, logs one line that the certificate
# was not accepted, and players get 503; a station's .pls on the https server, listing the https stream, is
# followed; a server with key verification at an https:// application admits the key the application accepts and
# refuses another. Exit 0 only if all passed. About 20 s; needs nginx, openssl, mpg123, curl, python3.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-https.XXXXXX)
STATION=$(free_port) TLS=$(free_port) TRUSTED=$(free_port) BY_IP=$(free_port) UNTRUSTED=$(free_port)
LISTED=$(free_port) SERVER=$(free_port)
failures=0
pids=()
trap 'stop_started; rm -rf "$TMP"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$TMP/openssl.log" 2>&1 \
    || { fail "openssl could not make a certificate: $(cat "$TMP/openssl.log")"; exit 1; }
printf '[playlist]\nNumberOfEntries=1\nFile1=https://localhost:%s/\n' "$TLS" >"$TMP/listen.pls"
chmod 755 "$TMP" && chmod 644 "$TMP/listen.pls"  # nginx's workers (not root) serve it
nginx_config "$TMP" "$(cat <<CONF
    server {
        listen 127.0.0.1:$TLS ssl;
        ssl_certificate $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        location = /listen.pls { default_type audio/x-scpls; alias $TMP/listen.pls; }
        location / { proxy_pass http://127.0.0.1:$STATION; proxy_buffering off; }
    }
CONF
)"

"$CLI" station --port "$STATION" --host 127.0.0.1 >"$TMP/station.log" 2>&1 &
pids+=($!)
nginx -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/nginx.out" 2>&1 &
pids+=($!)
wait_until 10 listening "$STATION" || { fail "casty-cli station did not start"; exit 1; }
wait_until 10 listening "$TLS" || { fail "nginx did not start: $(cat "$TMP/nginx.out" "$TMP/error.log" 2>/dev/null)"; exit 1; }

# proxy NAME PORT URL [ENV…] — a casty-cli proxy of URL on PORT, logging to NAME.log.
proxy() {
    local name=$1 port=$2 url=$3
    shift 3
    env "$@" "$CLI" proxy "$url" --port "$port" --host 127.0.0.1 >"$TMP/$name.log" 2>&1 &
    pids+=($!)
}
proxy trusted "$TRUSTED" "https://localhost:$TLS/" SSL_CERT_FILE="$TMP/cert.pem"
proxy by-ip "$BY_IP" "https://127.0.0.1:$TLS/" SSL_CERT_FILE="$TMP/cert.pem"
proxy untrusted "$UNTRUSTED" "https://localhost:$TLS/"
proxy listed "$LISTED" "https://localhost:$TLS/listen.pls" SSL_CERT_FILE="$TMP/cert.pem"

# decodes PORT — mpg123 decodes 40 MP3 frames from the proxy on PORT.
decodes() {
    timeout 10 mpg123 -q -t -n 40 "http://127.0.0.1:$1/" >"$TMP/mpg123-$1.log" 2>&1 \
        && ! grep -qiE "error|illegal" "$TMP/mpg123-$1.log"
}
titled() { log_has "$TMP/$1.log" "proxy: title: "; }
check "https://localhost with the certificate trusted: the proxy gets the station's title" wait_until 15 titled trusted
check "…and mpg123 decodes the relayed stream" decodes "$TRUSTED"
check "https://127.0.0.1 (the certificate names the address): the proxy gets the title" wait_until 15 titled by-ip
check "…and mpg123 decodes it" decodes "$BY_IP"
refused() { log_has "$TMP/untrusted.log" "TLS: certificate not accepted: self-signed certificate; retrying"; }
check "without the certificate trusted: one line says it was not accepted" wait_until 15 refused
unavailable() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 8 "http://127.0.0.1:$UNTRUSTED/")" = 503 ]; }
check "…no byte of the stream is relayed: players get 503" unavailable
check "…and no title was ever read" bash -c "! grep -q 'proxy: title: ' '$TMP/untrusted.log'"
led() { log_has "$TMP/listed.log" "leads to the stream at https://localhost:$TLS/"; }
check "a station's .pls on https, listing the https stream, is followed (one line says where it led)" wait_until 15 led
check "…and mpg123 decodes what it led to" decodes "$LISTED"

# A platform application on https: accepts the key "good", refuses any other.
cat >"$TMP/app.py" <<'PY'
import http.server, os, socket, ssl, sys
class App(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        good = self.headers.get("x-streaming-key") == "good"
        self.send_response(200 if good else 403)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
# On "::" with IPv4 too, on a port the kernel picks (written to argv[1]): "localhost" may be ::1 or 127.0.0.1, and
# a port chosen in advance may be taken on the other family by another test's listener in the meantime.
class Server(http.server.HTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
server = Server(("::", 0), App)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(sys.argv[1] + ".part", "w") as file:
    file.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".part", sys.argv[1])
server.serve_forever()
PY
python3 "$TMP/app.py" "$TMP/app.port" "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/app.log" 2>&1 &
pids+=($!)
wait_until 10 test -s "$TMP/app.port" || { fail "the application did not start"; exit 1; }
APP=$(cat "$TMP/app.port")
SSL_CERT_FILE="$TMP/cert.pem" "$CLI" server --port "$SERVER" --host 127.0.0.1 --accept-all \
    --key-verification-url "https://localhost:$APP/verify" >"$TMP/server.log" 2>&1 &
pids+=($!)
wait_until 10 listening "$SERVER" || { fail "the server did not start"; exit 1; }
# publish KEY — the status a source's PUT with KEY as its password gets (an empty body: admitted, it ends at once).
publish() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 8 -X PUT -u "source:$1" -H 'Content-Type: audio/mpeg' \
        --data-binary '' "http://127.0.0.1:$SERVER/live-$1"
}
check "key verification at an https:// application: the key it accepts publishes (200)" test "$(publish good)" = 200
check "…and another is refused (403)" test "$(publish bad)" = 403

if ((failures > 0)); then
    for log in "$TMP"/*.log "$TMP"/nginx.out; do echo "--- $log"; tail -5 "$log"; done
    exit 1
fi
echo "PASS: https.sh: all checks passed"
