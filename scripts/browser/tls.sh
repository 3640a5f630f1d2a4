#!/usr/bin/env bash
# tls.sh — Casty behind nginx terminating TLS (the configuration the README gives), with a self-signed certificate
# made here by openssl: over https, a player gets the stream, a page gets the live title events (Server-Sent
# Events, unbuffered), the player page plays in headless chromium (currentTime passes 3 s, the title changes), and
# the page opens the title WebSocket over wss:// through nginx (the Upgrade headers the README's configuration passes),
# and a playlist fetched over https names the https:// stream (X-Forwarded-Proto).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-tls.XXXXXX)
CASTY_PORT=$(free_port) TLS_PORT=$(free_port)
pids=()
trap stop_started EXIT
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"
# shellcheck source=scripts/browser/lib.sh
. "$here/lib.sh"

"$CLI" server --port "$CASTY_PORT" --host 127.0.0.1 --source-password unused --station /radio --title-every 2 \
    --name "Casty TLS" --trusted-proxy 127.0.0.1 >"$TMP/server.log" 2>&1 &
pids+=($!)
wait_until 10 listening "$CASTY_PORT" || { fail "casty-cli server did not start"; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 -subj /CN=127.0.0.1 \
    >"$TMP/openssl.log" 2>&1 || { fail "openssl could not make a certificate"; cat "$TMP/openssl.log"; exit 1; }
nginx_config "$TMP" "$(cat <<CONF
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    server {
        listen 127.0.0.1:$TLS_PORT ssl http2;
        ssl_certificate $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        location / {
            proxy_pass http://127.0.0.1:$CASTY_PORT;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_set_header Host \$http_host;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
CONF
)"
nginx -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/nginx.out" 2>&1 &
pids+=($!)
wait_until 10 listening "$TLS_PORT" || { fail "nginx did not start: $(cat "$TMP/nginx.out" "$TMP/error.log" 2>/dev/null)"; exit 1; }
BASE="https://127.0.0.1:$TLS_PORT"

curl -sk --max-time 3 -D "$TMP/head.txt" -H "Icy-MetaData: 1" "$BASE/radio" -o "$TMP/stream.bin"
size=$(file_size "$TMP/stream.bin")
if grep -qi "^icy-metaint: 8192" "$TMP/head.txt" && grep -qi "^icy-name: Casty TLS" "$TMP/head.txt" && [ "$size" -gt 30000 ]; then
    pass "(a) a player gets the stream over https through nginx: $size bytes in 3 s, icy-metaint and icy-name"
else
    fail "(a) over https: $size bytes; head: $(tr '\r\n' '  ' <"$TMP/head.txt")"
fi

curl -skN --max-time 5 "$BASE/api/mounts/radio/events" -o "$TMP/events.txt"
events=$(grep -c "^event: title" "$TMP/events.txt")
if [ "$events" -ge 2 ]; then
    pass "(b) the live title events arrive unbuffered through nginx: $events in 5 s"
else
    fail "(b) $events title events in 5 s through nginx: $(head -c 300 "$TMP/events.txt")"
fi

browser "$BASE/player/radio" --ignore-certificate-errors
wait_until 10 page_has_title
first=$(page_title)
changed() { [ "$(page_title)" != "$first" ]; }
if wait_until 20 page_played 3 && wait_until 10 changed; then
    pass "(c) the player page plays over https (currentTime $(evaluate "document.getElementById('audio').currentTime.toFixed(1)") s) and its title changed: '$first' → '$(page_title)'"
else
    fail "(c) over https the page shows '$(page_title)', played $(evaluate "document.body.dataset.played")"
fi

# (d) The page, on the https origin, opens the WebSocket of live titles through nginx and gets a title pushed.
evaluate "window.wsGot = ''; const w = new WebSocket('wss://' + location.host + '/api/mounts/radio/ws');
    w.onmessage = e => { window.wsGot = e.data }; w.onerror = () => { window.wsGot = 'error' }; 'opened'" >/dev/null
ws_title() { [[ "$(evaluate "window.wsGot")" == *'"title"'* ]]; }
if wait_until 10 ws_title; then
    pass "(d) the title WebSocket works over wss:// through nginx: $(evaluate "window.wsGot" | cut -c1-120)"
else
    fail "(d) no title over wss:// through nginx: '$(evaluate "window.wsGot" | cut -c1-200)'"
fi

playlist=$(curl -sk --max-time 3 "$BASE/radio.m3u" | tr -d '\r')
# (nginx's `Host $host` leaves out the port, as it should on 443; here it is another port.)
if [ "$playlist" = "https://127.0.0.1:$TLS_PORT/radio" ]; then
    pass "(e) the playlist fetched over https names the https:// stream: $playlist (X-Forwarded-Proto from the trusted nginx)"
else
    fail "(e) the playlist over https says '$playlist', not https://127.0.0.1:$TLS_PORT/radio"
fi

if ((failures > 0)); then
    echo "--- server log"; tail -20 "$TMP/server.log"; echo "--- nginx error log"; tail -20 "$TMP/error.log"
    echo "FAIL: tls: $failures checks failed"
    exit 1
fi
echo "PASS: tls: every check passed"
