#!/usr/bin/env bash
# edge.sh — the README's HLS edge (section "Live HLS and recordings", the ```nginx block after "for nginx to serve
# as static files:"), run as written: the block is cut out of README.md ($README, for trying another version of it),
# only its paths and ports changed (/var/lib/casty/hls → this run's --hls-dir, 127.0.0.1:8000 → Casty's port), its
# http-level lines (types, maps) put in nginx's http {} and its locations in a server on a free port. Casty is a
# `casty-cli server --hls-dir … --trusted-proxy 127.0.0.1` with an ffmpeg sine source on /live. Through the edge:
#
#   (a) the static /hls/live/index.m3u8 has Cache-Control: max-age=1 and Access-Control-Allow-Origin (hls.js on a
#       page of another site reads it);
#   (b) ffmpeg plays that static playlist (6 s, nothing at -loglevel error);
#   (c) /live.m3u asked for as Host: radio.example names http://radio.example/live, not Casty's own address;
#   (d) the title WebSocket's handshake (/api/mounts/live/ws) is answered 101 with the right Sec-WebSocket-Accept;
#   (e) a listener coming from 127.0.0.2 with a forged X-Forwarded-For: 203.0.113.7 is listed by
#       /admin/listclients under 127.0.0.2 — its own address, neither nginx's (127.0.0.1) nor the forged one.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"

CLI=${CASTY_CLI:-casty-cli}
README=${README:-$here/../../README.md}
TMP=$(mktemp -d /tmp/casty-edge.XXXXXX)
chmod 755 "$TMP"   # nginx started as root serves as nobody, who must reach the --hls-dir inside
CASTY_PORT=$(free_port) EDGE_PORT=$(free_port)
SRC_PW=SrcPw-edge ADMIN_PW=AdmPw-edge
pids=()
trap stop_started EXIT
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

# evidence — what a failure is judged by: the nginx.conf made from the README, the server's and nginx's logs.
evidence() {
    echo "--- nginx.conf (from $README)"; cat "$TMP/nginx/nginx.conf"
    echo "--- server log"; tail -20 "$TMP/server.log"
    echo "--- ffmpeg source log"; tail -5 "$TMP/source.log"
    echo "--- nginx error log (without the 404s of waiting for the playlist)"
    grep -v '(2: No such file or directory)' "$TMP/nginx/error.log" 2>/dev/null | tail -20
}

# --- the README's block: its http-level lines, then its locations (from the first `location` on) ----------------
awk '/for nginx to serve as static files:/ { marker = 1 }
     marker && /^```nginx/ { inside = 1; next }
     inside && /^```/ { exit }
     inside' "$README" | sed -e "s|/var/lib/casty/hls|$TMP/hls|g" -e "s|127\.0\.0\.1:8000|127.0.0.1:$CASTY_PORT|g" >"$TMP/block.conf"
if ! grep -q '^location' "$TMP/block.conf"; then
    fail "no \`\`\`nginx block with locations after 'for nginx to serve as static files:' in $README"
    exit 1
fi
awk '/^location/ { exit } { print "    " $0 }' "$TMP/block.conf" >"$TMP/http-part.conf"
awk '/^location/ { on = 1 } on { print "        " $0 }' "$TMP/block.conf" >"$TMP/server-part.conf"
nginx_config "$TMP/nginx" "    proxy_cache_path $TMP/nginx/cache levels=1:2 keys_zone=hls:10m max_size=100m inactive=10m use_temp_path=off;
$(cat "$TMP/http-part.conf")
    server {
        listen 127.0.0.1:$EDGE_PORT;
$(cat "$TMP/server-part.conf")
    }"

"$CLI" server --port "$CASTY_PORT" --host 127.0.0.1 --source-password "$SRC_PW" --admin-password "$ADMIN_PW" \
    --mounts /live --hls-dir "$TMP/hls" --hls-target 2 --trusted-proxy 127.0.0.1 >"$TMP/server.log" 2>&1 &
pids+=($!)
wait_until 10 listening "$CASTY_PORT" || { fail "casty-cli server did not start"; evidence; exit 1; }
ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i "sine=frequency=440:sample_rate=44100" -ac 2 \
    -map_metadata -1 -c:a libmp3lame -b:a 128k -id3v2_version 0 -write_xing 0 -content_type audio/mpeg -f mp3 \
    "icecast://source:$SRC_PW@127.0.0.1:$CASTY_PORT/live" </dev/null >"$TMP/source.log" 2>&1 &
pids+=($!)
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx.out" 2>&1 &
pids+=($!)
wait_until 10 listening "$EDGE_PORT" || { fail "nginx did not start: $(cat "$TMP/nginx.out")"; evidence; exit 1; }
EDGE="http://127.0.0.1:$EDGE_PORT"
CASTY="http://127.0.0.1:$CASTY_PORT"

# --- (a) the static playlist's headers ----------------------------------------------------------------------------
static_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$EDGE/hls/live/index.m3u8")" = 200 ]; }
if wait_until 40 static_ready; then
    curl -s -D "$TMP/static.h" -o /dev/null -H 'Origin: http://player.example' "$EDGE/hls/live/index.m3u8"
    if grep -qi '^cache-control: max-age=1' "$TMP/static.h" && grep -qi '^access-control-allow-origin: ' "$TMP/static.h"; then
        pass "(a) the static playlist has Cache-Control: max-age=1 and $(grep -i '^access-control-allow-origin' "$TMP/static.h" | tr -d '\r')"
    else
        fail "(a) the static playlist's head lacks max-age=1 or Access-Control-Allow-Origin: $(tr '\r\n' '  ' <"$TMP/static.h")"
    fi
else
    fail "(a) $EDGE/hls/live/index.m3u8 did not answer 200 within 40 s"
fi

# --- (b) ffmpeg plays it ---------------------------------------------------------------------------------------------
ff_rc=0
timeout 40 ffmpeg -nostdin -hide_banner -loglevel error -i "$EDGE/hls/live/index.m3u8" -t 6 -f wav -y "$TMP/static.wav" \
    >"$TMP/ffmpeg-static.log" 2>&1 || ff_rc=$?
seconds=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$TMP/static.wav" 2>/dev/null || echo 0)
if [ "$ff_rc" = 0 ] && [ ! -s "$TMP/ffmpeg-static.log" ] && awk -v s="$seconds" 'BEGIN { exit !(s >= 5.5) }'; then
    pass "(b) ffmpeg played the static playlist through the edge: ${seconds} s, nothing at -loglevel error"
else
    fail "(b) ffmpeg exit status $ff_rc, ${seconds:-0} s decoded: $(head -c 300 "$TMP/ffmpeg-static.log")"
fi

# --- (c) a playlist names the edge's address ---------------------------------------------------------------------------
playlist=$(curl -s --max-time 3 -H 'Host: radio.example' "$EDGE/live.m3u" | tr -d '\r')
if [ "$playlist" = "http://radio.example/live" ]; then
    pass "(c) /live.m3u asked for as radio.example names $playlist"
else
    fail "(c) /live.m3u asked for as radio.example says '$playlist', not http://radio.example/live (Host not passed on?)"
fi

# --- (d) the title WebSocket's handshake ---------------------------------------------------------------------------
handshake=$(python3 - "$EDGE_PORT" <<'PY' 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(5)
s.sendall(b"GET /api/mounts/live/ws HTTP/1.1\r\nHost: radio.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(4096)
    if not chunk:
        break
    head += chunk
print(head.split(b"\r\n\r\n")[0].decode("latin-1").replace("\r\n", " | "))
PY
)
# RFC 6455's own example: this key is accepted as s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
if [[ $handshake == "HTTP/1.1 101 "* && $handshake == *"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="* ]]; then
    pass "(d) the title WebSocket is passed on: ${handshake%% |*}, with the key's Sec-WebSocket-Accept"
else
    fail "(d) the WebSocket handshake through the edge got: ${handshake:0:300}"
fi

# --- (e) a listener under its own address ------------------------------------------------------------------------------
curl -s -o /dev/null --max-time 20 --interface 127.0.0.2 -H 'X-Forwarded-For: 203.0.113.7' "$EDGE/live" &
pids+=($!)
listed() {
    peers=$(curl -s -u "admin:$ADMIN_PW" "$CASTY/admin/listclients?mount=/live" |
        python3 -c 'import json, sys; print("; ".join(c["peer"] for c in json.load(sys.stdin)["clients"]))' 2>/dev/null)
    [ -n "$peers" ]
}
peers=""
wait_until 10 listed || true
# Casty lists it as "127.0.0.2 (via 127.0.0.1:PORT)": the client, then the proxy it came through.
if [[ ($peers == 127.0.0.2 || $peers == "127.0.0.2 "*) && $peers != *";"* ]]; then
    pass "(e) a listener from 127.0.0.2 forging X-Forwarded-For: 203.0.113.7 is listed as $peers"
else
    fail "(e) a listener from 127.0.0.2 forging X-Forwarded-For: 203.0.113.7 is listed as '$peers' (127.0.0.2 expected: not nginx's 127.0.0.1, nor the forged address)"
fi

if ((failures > 0)); then
    evidence
    echo "FAIL: edge: $failures checks failed"
    exit 1
fi
echo "PASS: edge: every check passed"
