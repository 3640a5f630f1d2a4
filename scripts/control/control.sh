#!/usr/bin/env bash
# control.sh — the control plane against a real application (scripts/control/app.py, python3's standard library).
#
#   (a) ffmpeg publishes with an accepted key: the application was asked (channel, key, user ip, its auth) and
#       the mount plays;
#   (b) a refused key: ffmpeg is turned away (403, one log line), the mount does not play; refused sources on
#       twenty random mounts leave no mount behind;
#   (c) stream-available reaches the event callback three times (the application answers 500 twice, then 200),
#       in order, with the stream id, ICY-LIVE and the listen URL, and the callback's auth;
#   (d) /commands/capacity and /commands/report, field by field (one HLS packager: /live's); wrong or missing
#       auth → 401 (with WWW-Authenticate); a command asked with another method → 405 with Allow; the live
#       source's own key sets its title (/admin/metadata), another key does not;
#   (e) /commands/close with x-streaming-id * disconnects the source; stream-closed follows, after available;
#       SIGTERM with a source live: Casty exits within 4 s, and stream-closed reached the application first;
#   (f) the event application is down while a stream starts and stops, and Casty is restarted meanwhile — with
#       another stream live, whose stream-closed the stopping Casty spools: the events arrive, in order per
#       channel, once it is back (the spool file carried them across the restart);
#   (g) applications that answer garbage, a 10 MB body, or never: the source is refused within the timeout, and
#       a listener of another mount plays on undisturbed;
#   (h) listeners authorized by the application (Icecast's URL auth): no login 401, a refused one 403, an
#       accepted one plays; listener_add carries mount, ip, agent, user and pass; listener_remove follows.
# Prints PASS:/FAIL:/MEASURE: lines; exits 0 only if every check passed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-control.XXXXXX)
APP_PORT=$(free_port) SERVER_PORT=$(free_port) SERVER2_PORT=$(free_port) APP2_PORT=$(free_port) SERVER3_PORT=$(free_port) APP3_PORT=$(free_port)
# The issue's 30 s: the events' backoff reaches its cap (30 s between attempts) before the application is back.
DOWN_SECONDS=${DOWN_SECONDS:-30}
pids=()
trap stop_started EXIT
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

app_start() { # NAME PORT ARGS...
    local name=$1 port=$2
    shift 2
    python3 "$here/app.py" --port "$port" --log "$TMP/$name.jsonl" "$@" >"$TMP/$name.out" 2>&1 &
    pids+=($!)
    eval "${name}_pid=$!"
    wait_until 10 listening "$port"
}
server_start() { # NAME PORT ARGS...
    local name=$1 port=$2
    shift 2
    "$CLI" server --port "$port" --host 127.0.0.1 "$@" >>"$TMP/$name.log" 2>&1 &
    pids+=($!)
    eval "${name}_pid=$!"
    wait_until 10 listening "$port"
}
publish() { # NAME PORT MOUNT KEY SECONDS
    timeout $(($5 + 15)) ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i "sine=frequency=440:sample_rate=44100" \
        -t "$5" -c:a libmp3lame -b:a 128k -content_type audio/mpeg -f mp3 "icecast://source:$4@127.0.0.1:$2$3" \
        >"$TMP/$1.ffmpeg" 2>&1 &
    pids+=($!)
    eval "${1}_pid=$!"
}
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" 2>/dev/null; }
plays() { [ "$(status_of "http://127.0.0.1:$1$2")" = 200 ]; }
# calls LOG PATH — the recorded calls to PATH, as JSON lines
calls() { grep -F "\"path\": \"$2" "$TMP/$1.jsonl" 2>/dev/null || true; }
field() { python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e["headers"].get(sys.argv[2], ""))' "$1" "$2"; }
command() { curl -s --max-time 3 -w '\n%{http_code}' "$@"; }

# --- (a) an accepted key -------------------------------------------------------------------------------------------
app_start app "$APP_PORT" --keys goodkey --fail-events 2
server_start server "$SERVER_PORT" --accept-all \
    --key-verification-url "http://127.0.0.1:$APP_PORT/verify" --key-verification-auth bearer:verify-token \
    --event-callback-url "http://127.0.0.1:$APP_PORT/events" --event-callback-auth basic:casty:evpw \
    --commands-auth bearer:cmd-token --record-dir "$TMP/recordings"
publish live "$SERVER_PORT" /live goodkey 30
check "(a) /live plays after its key was accepted" wait_until 15 plays "$SERVER_PORT" /live
verify=$(calls app /verify | head -1)
check "(a) the application was asked with x-streaming-channel live" test "$(field "$verify" x-streaming-channel)" = live
check "(a) … x-streaming-key goodkey" test "$(field "$verify" x-streaming-key)" = goodkey
check "(a) … x-user-ip 127.0.0.1" test "$(field "$verify" x-user-ip)" = 127.0.0.1
check "(a) … and Authorization: Bearer verify-token" test "$(field "$verify" authorization)" = "Bearer verify-token"

# --- (b) a refused key ---------------------------------------------------------------------------------------------
publish intruder "$SERVER_PORT" /intruder badkey 10
ffmpeg_gone() { ! kill -0 "$intruder_pid" 2>/dev/null; }
check "(b) ffmpeg with a refused key was turned away" wait_until 10 ffmpeg_gone
no_intruder() { curl -s --max-time 2 "http://127.0.0.1:$SERVER_PORT/status.json" | grep -q '"/live"' && ! curl -s --max-time 2 "http://127.0.0.1:$SERVER_PORT/status.json" | grep -q intruder; }
check "(b) /intruder was not made a mount (/status.json lists /live only)" no_intruder
check "(b) one log line: key not accepted (403)" test "$(grep -c "refused on /intruder: key not accepted.*(403)" "$TMP/server.log")" = 1
check "(b) no key in the log" bash -c "! grep -q -e goodkey -e badkey -e verify-token -e cmd-token '$TMP/server.log'"
put_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X PUT -u "source:$2" -H 'Content-Type: audio/mpeg' --data-binary '' "$1"; }
refused_puts=0
for n in $(seq 1 20); do [ "$(put_status "http://127.0.0.1:$SERVER_PORT/random-$n" "guess$n")" = 403 ] && refused_puts=$((refused_puts + 1)); done
check "(b) PUTs with refused keys to 20 random mounts: all 403 ($refused_puts)" test "$refused_puts" = 20

# --- (c) events, re-sent until 200 ---------------------------------------------------------------------------------
three_available() { [ "$(calls app /events | grep -c stream-available)" -ge 3 ]; }
check "(c) stream-available was sent three times (500, 500, then 200)" wait_until 15 three_available
event=$(calls app /events | head -1)
stream_id=$(field "$event" x-streaming-id)
check "(c) … for channel live, ICY-LIVE, listen URL http://127.0.0.1:$SERVER_PORT/live" bash -c \
    "[ '$(field "$event" x-streaming-channel)' = live ] && [ '$(field "$event" x-stream-type)' = ICY-LIVE ] && [ '$(field "$event" x-index-file)' = http://127.0.0.1:$SERVER_PORT/live ]"
check "(c) … the same stream id every time ($stream_id)" test "$(calls app /events | grep -c "\"x-streaming-id\": \"$stream_id\"")" -ge 3
check "(c) … with the callback's Basic auth" test "$(field "$event" authorization)" = "Basic $(printf casty:evpw | base64)"

# --- (d) capacity and report ---------------------------------------------------------------------------------------
base="http://127.0.0.1:$SERVER_PORT"
check "(d) /commands/capacity without auth → 401" test "$(command "$base/commands/capacity" | tail -1)" = 401
check "(d) /commands/capacity with a wrong token → 401" test "$(command -H 'Authorization: Bearer nope' "$base/commands/capacity" | tail -1)" = 401
challenged() { curl -s --max-time 3 -D - -o /dev/null -H 'Authorization: Bearer nope' "$base/commands/capacity" | grep -qi '^WWW-Authenticate: Bearer'; }
check "(d) … with WWW-Authenticate: Bearer, and the body says the credentials were wrong" bash -c \
    "$(declare -f challenged); base=$base; challenged && curl -s --max-time 3 -H 'Authorization: Bearer nope' $base/commands/capacity | grep -q 'wrong credentials'"
check "(d) GET /commands/close → 405 with Allow: POST" bash -c \
    "curl -s --max-time 3 -D - -o /dev/null -H 'Authorization: Bearer cmd-token' $base/commands/close | grep -q '^Allow: POST'"
capacity=$(command -H 'Authorization: Bearer cmd-token' "$base/commands/capacity" | head -1)
check "(d) capacity: load 1, capacity -1, encoderCount 1 (/live's HLS), 1 mount: refused sources left none ($capacity)" python3 -c '
import json,sys; c=json.loads(sys.argv[1]); sys.exit(0 if (c["load"], c["capacity"], c["encoderCount"], c["mounts"]) == (1, -1, 1, 1) else 1)' "$capacity"
report=$(command -H 'Authorization: Bearer cmd-token' "$base/commands/report" | head -1)
check "(d) report: the live stream with its id, server and record flag; this node as an ICY server ($report)" python3 -c '
import json,sys; r=json.loads(sys.argv[1]); s=r["activeStreams"]
ok = len(s) == 1 and s[0]["channel"] == "live" and s[0]["streamId"] == sys.argv[2] and s[0]["record"] is True and s[0]["available"] is True \
    and s[0]["streamServer"] == "http://127.0.0.1:" + sys.argv[3] \
    and r["streamingServers"] == [{"id": "127.0.0.1:" + sys.argv[3], "ip": "127.0.0.1", "port": int(sys.argv[3]), "ssl": False, "serverType": "ICY"}]
sys.exit(0 if ok else 1)' "$report" "$stream_id" "$SERVER_PORT"
check "(d) report: one encoder, /live's HLS packager, named by the live stream" python3 -c '
import json,sys; r=json.loads(sys.argv[1]); e=r["encoders"]
ok = len(e) == 1 and e[0]["mount"] == "/live" and e[0]["type"] == "HLS" and e[0]["targetDuration"] == 6 \
    and e[0]["segmentsMade"] >= 0 and e[0]["playlist"] == "http://127.0.0.1:" + sys.argv[2] + "/live/index.m3u8" \
    and r["activeStreams"][0]["encoder"] == e[0]["id"]
sys.exit(0 if ok else 1)' "$report" "$SERVER_PORT"
title() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -u "source:$1" "$base/admin/metadata?mount=/live&mode=updinfo&song=Blue+in+Green"; }
check "(d) the live source's own key sets its title (/admin/metadata → 200)" test "$(title goodkey)" = 200
check "(d) … another key does not (401)" test "$(title badkey)" = 401

# --- (e) close * ---------------------------------------------------------------------------------------------------
# x-record: true: the session is being recorded once its first whole HLS segment is cut (about 12 s in).
wait_until 25 grep -q "recording /live to" "$TMP/server.log" || true
closed=$(command -X POST -H 'Authorization: Bearer cmd-token' -H 'x-streaming-channel: live' -H 'x-streaming-id: *' "$base/commands/close")
check "(e) /commands/close * answered 200 naming the stream ($(head -1 <<<"$closed"))" bash -c "[ '$(tail -1 <<<"$closed")' = 200 ] && grep -q '$stream_id' <<<'$closed'"
live_gone() { ! kill -0 "$live_pid" 2>/dev/null; }
check "(e) the source was disconnected (ffmpeg exited)" wait_until 10 live_gone
closed_event() { calls app /events | grep -q stream-closed; }
check "(e) stream-closed reached the application" wait_until 10 closed_event
# The live events (ICY-LIVE, HLS-LIVE) come first, stream-closed after them; the recording that x-record: true
# asked for is announced once its file is finished, after the close (HLS-VOD).
live_then_closed() {
    python3 - "$TMP/app.jsonl" <<'PY'
import json, sys
kinds = []
for line in open(sys.argv[1]):
    entry = json.loads(line)
    if entry["path"] == "/events":
        headers = entry["headers"]
        kinds.append(headers.get("x-stream-type", headers["x-event-type"]))
closed = kinds.index("stream-closed") if "stream-closed" in kinds else -1
live = [i for i, kind in enumerate(kinds) if kind in ("ICY-LIVE", "HLS-LIVE")]
sys.exit(0 if closed > 0 and live and max(live) < closed and kinds[0] == "ICY-LIVE" else 1)
PY
}
check "(e) … after stream-available (ICY-LIVE, then HLS-LIVE)" live_then_closed
recorded() { calls app /events | grep -q '"x-stream-type": "HLS-VOD"' && find "$TMP/recordings/live" -name '*.mp3' -size +10k | grep -q .; }
check "(e) x-record: true recorded the session: its audio is on disk and its playlist was announced (HLS-VOD)" wait_until 15 recorded
# SIGTERM with a source live: the application hears stream-closed before Casty exits.
publish again "$SERVER_PORT" /live goodkey 60
new_id() { calls app /events | grep ICY-LIVE | grep -v "\"$stream_id\"" | head -1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["headers"]["x-streaming-id"])' 2>/dev/null; }
has_new_id() { [ -n "$(new_id)" ]; }
check "(e) /live published again, its stream-available arrived" wait_until 15 has_new_id
again_id=$(new_id)
term=$(now_ms)
kill -TERM "$server_pid"
server_gone() { ! kill -0 "$server_pid" 2>/dev/null; }
check "(e) SIGTERM with /live live: Casty exited within 4 s" wait_until 4 server_gone
echo "MEASURE: Casty exited $(($(now_ms) - term)) ms after SIGTERM"
said_stopping() { log_has "$TMP/server.log" 'SIGTERM: stopping \(sources ended.*events sent if the application answers\)' && log_has "$TMP/server.log" 'stopped in [0-9]+ ms'; }
check "(e) … and said so in its log: $(grep -hE 'SIGTERM|stopped in' "$TMP/server.log" | tr '\n' ' ')" said_stopping
check "(e) … and stream-closed of that stream ($again_id) reached the application before" bash -c \
    "grep -F '\"path\": \"/events' '$TMP/app.jsonl' | grep -F '\"x-streaming-id\": \"$again_id\"' | grep -q stream-closed"

# --- (f) the application down, Casty restarted meanwhile ------------------------------------------------------------
server_start server2 "$SERVER2_PORT" --accept-all --source-password pw2 --hls-target 1 \
    --event-callback-url "http://127.0.0.1:$APP2_PORT/events" --event-spool "$TMP/spool"
publish two "$SERVER2_PORT" /two pw2 6
check "(f) /two plays while the event application is down" wait_until 10 plays "$SERVER2_PORT" /two
two_gone() { ! kill -0 "$two_pid" 2>/dev/null; }
wait_until 20 two_gone
sleep 2
# stream-available twice (ICY-LIVE, then HLS-LIVE once the live playlist answers: 3 s with --hls-target 1), then
# stream-closed.
spooled() { [ "$(grep -c . "$TMP/spool" 2>/dev/null)" = 3 ]; }
check "(f) the three events wait in the spool file" wait_until 5 spooled
publish three "$SERVER2_PORT" /three pw2 60
check "(f) /three plays" wait_until 10 plays "$SERVER2_PORT" /three
check "(f) /three's live playlist answers (its HLS-LIVE is due)" wait_until 15 plays "$SERVER2_PORT" /three/index.m3u8
kill "$server2_pid"
server2_gone() { ! kill -0 "$server2_pid" 2>/dev/null; }
check "(f) SIGTERM with /three live: Casty exited within 4 s" wait_until 4 server2_gone
check "(f) … and spooled /three's stream-closed after its stream-available (six events in all)" bash -c \
    "[ \"\$(grep -c . '$TMP/spool')\" = 6 ] && tail -1 '$TMP/spool' | grep -q \"^[0-9a-f]\\{8\\}\$(printf '\t')stream-closed\$(printf '\t')three\$(printf '\t')\""
sleep 1
server_start server2 "$SERVER2_PORT" --accept-all --source-password pw2 --hls-target 1 \
    --event-callback-url "http://127.0.0.1:$APP2_PORT/events" --event-spool "$TMP/spool"
sleep "$((DOWN_SECONDS > 8 ? DOWN_SECONDS - 8 : 1))"
back=$(now_ms)
app_start app2 "$APP2_PORT"
both_events() { [ "$(calls app2 /events | grep -c "x-event-type")" -ge 6 ]; }
check "(f) after $DOWN_SECONDS s down and a restart of Casty, the six events arrived" wait_until 45 both_events
echo "MEASURE: events arrived $(($(now_ms) - back)) ms after the application came back"
# In order per channel (/two's and /three's go side by side).
events_of() { grep -F '"path": "/events' "$TMP/app2.jsonl" | grep -F "\"x-streaming-channel\": \"$1\""; }
in_order_two() { events_of two | head -1 | grep -q ICY-LIVE && events_of two | sed -n 2p | grep -q HLS-LIVE && events_of two | sed -n 3p | grep -q stream-closed; }
check "(f) … /two's in order: stream-available (ICY-LIVE, HLS-LIVE), then stream-closed" in_order_two
last_of_three() { events_of three | sed -n 3p | grep -q stream-closed; }
check "(f) … the last of /three's: its stream-closed" last_of_three
check "(f) one log line says where the left events came from" grep -q "left by the last run" "$TMP/server2.log"
check "(f) one log line says the stopping Casty kept events in the spool" grep -q "not sent before the process stopped; kept in" "$TMP/server2.log"
check "(f) its stopping line says events are sent or spooled (no spool: sent if the application answers)" grep -q "stopping (.*events sent or spooled)" "$TMP/server2.log"

# --- (g) applications that answer nonsense ---------------------------------------------------------------------------
server_start server3 "$SERVER3_PORT" --accept-all --station /radio --key-verification-timeout 2 \
    --key-verification-url "http://127.0.0.1:$APP3_PORT/verify"
curl -s --max-time 40 "http://127.0.0.1:$SERVER3_PORT/radio" -o "$TMP/radio.mp3" &
radio=$!
pids+=("$radio")
for mode in garbage huge hang; do
    app_start app3 "$APP3_PORT" --keys k --verify-mode "$mode"
    started=$(now_ms)
    publish "bad$mode" "$SERVER3_PORT" "/$mode" k 10
    gone() { eval "! kill -0 \$bad${mode}_pid 2>/dev/null"; }
    check "(g) an application answering $mode: the source is refused within the timeout" wait_until 8 gone
    echo "MEASURE: $mode application: source refused after $(($(now_ms) - started)) ms"
    check "(g) … with one log line: key not verified (the application could not be asked)" test "$(grep -c "refused on /$mode: key not verified, the application could not be asked" "$TMP/server3.log")" = 1
    kill "$app3_pid" 2>/dev/null
    wait "$app3_pid" 2>/dev/null
done
size_before=$(file_size "$TMP/radio.mp3")
sleep 2
check "(g) the listener of /radio played on throughout ($(file_size "$TMP/radio.mp3") bytes)" test "$(file_size "$TMP/radio.mp3")" -gt "$size_before"
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server3_pid/status")
check "(g) memory stayed bounded after a 10 MB answer (RSS $rss kB)" test "$rss" -lt 60000

# --- (h) listeners authorized by the application ---------------------------------------------------------------------
LISTEN_PORT=$(free_port) APP4_PORT=$(free_port)
app_start app4 "$APP4_PORT" --logins alice:wonderland
server_start server4 "$LISTEN_PORT" --accept-all --source-password unused --station /radio --listener-auth-url "http://127.0.0.1:$APP4_PORT/listener"
check "(h) a listener without a login → 401" test "$(status_of "http://127.0.0.1:$LISTEN_PORT/radio")" = 401
check "(h) a listener with a wrong login → 403" test "$(status_of -u alice:rabbit "http://127.0.0.1:$LISTEN_PORT/radio")" = 403
check "(h) a listener with a login the application accepts plays" test "$(status_of -u alice:wonderland -A casty-auth-test/1 "http://127.0.0.1:$LISTEN_PORT/radio")" = 200
add=$(grep -F 'listener_add' "$TMP/app4.jsonl" | grep -F 'user=alice' | tail -1)
check "(h) listener_add carried mount, ip, agent, user and pass" python3 -c '
import json,sys,urllib.parse; f=dict(urllib.parse.parse_qsl(json.loads(sys.argv[1])["body"]))
sys.exit(0 if (f["mount"], f["ip"], f["agent"], f["user"], f["pass"]) == ("/radio", "127.0.0.1", "casty-auth-test/1", "alice", "wonderland") else 1)' "$add"
removed() { grep -q 'listener_remove' "$TMP/app4.jsonl"; }
check "(h) listener_remove reached the application when the listener left" wait_until 10 removed

if ((failures > 0)); then
    echo "--- server log"; cat "$TMP/server.log"; echo "--- server2 log"; cat "$TMP/server2.log"; echo "--- server3 log"; cat "$TMP/server3.log"
    echo "FAIL: control: $failures checks failed"
    exit 1
fi
echo "PASS: control: every check passed"
