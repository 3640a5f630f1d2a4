#!/usr/bin/env bash
# rtmp.sh [casty] — ffmpeg publishes over RTMP (as OBS does) into Casty's mounts; players listen over HTTP.
#
# Server: casty-cli server --mounts /live,/aac,/video,/spare --rtmp-port P, with the platform's application
# (scripts/control/app.py) verifying keys (only `goodkey`) and receiving events.
#   (a) ffmpeg `-c:a libmp3lame -f flv rtmp://127.0.0.1:P/live/goodkey` (with a title in its metadata): /live
#       answers 200 within 10 s; ffmpeg `-c:a aac -f flv rtmp://…/aac/goodkey`: /aac answers 200;
#   (b) Content-Type audio/mpeg on /live, audio/aac on /aac (AAC is served as ADTS); a publisher that sends video
#       too (as OBS does with a scene) is an audio source: /video plays, its video messages are counted and dropped;
#   (c) mpg123 decodes 4 s of /live: not silent, 440 Hz; ffmpeg decodes 4 s of /aac: not silent, 660 Hz;
#   (d) the title ffmpeg put in onMetaData reaches an Icy-MetaData listener; a title set with /admin/metadata
#       reaches one within 5 s;
#   (e) a wrong key on /spare is refused: ffmpeg exits non-zero, one log line names the peer, and the application
#       saw the call (x-streaming-channel spare, x-streaming-key wrongkey); a mount not on the whitelist is
#       refused without asking the application;
#   (f) the application saw goodkey for live and aac, and got stream-available for both;
#   (g) malformed peers on the RTMP port — a bad version, random chunk headers, AMF garbage in a command — are
#       each closed (one log line); a peer that stalls halfway through the handshake is dropped at the header
#       timeout (15 s); 300 more garbage peers leave Casty's RSS within 10 MB; and /live and /aac play on;
#   (h) /status.json has icestats.rtmp with the connections, 3 publishing, refusals, malformed peers and the
#       video messages ignored;
#   (i) the MP3 publisher stops: stream-closed for live arrives at the application;
#   (j) a publisher through librtmp (scripts/station/librtmp.py: Debian's librtmp1, the library OBS Studio's RTMP
#       output is built on — its handshake, its connect/releaseStream/FCPublish/createStream/publish, its packing
#       of FLV tags) publishes MP3 to /obs with goodkey: mpg123 decodes 3 s at 880 Hz, and its onMetaData title
#       reaches an Icy-MetaData listener.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/lib.sh"
station_begin "${1:-casty}" mpg123
if ! casty_only "RTMP ingest (Icecast 2 takes no RTMP)"; then station_end; fi

# --- the application and the server ------------------------------------------------------------------------------
APP_PORT=$(station_port)
python3 "$STATION_ROOT/scripts/control/app.py" --port "$APP_PORT" --log "$TMP/app.jsonl" --keys goodkey \
    </dev/null >"$TMP/app.out" 2>&1 &
APP_PID=$!
peers_track "$APP_PID"
evidence_log "application" "$TMP/app.out"
wait_port "$APP_PORT" 10 "$APP_PID" || { fail "the application did not listen on $APP_PORT"; exit 1; }
# Port 0: the kernel picks a free port for RTMP, and the server's first log line names it.
server_start --mounts /live,/aac,/video,/spare,/obs --rtmp-port 0 \
    --key-verification-url "http://127.0.0.1:$APP_PORT/verify" --event-callback-url "http://127.0.0.1:$APP_PORT/events"
rtmp_port() { RTMP_PORT=$(sed -nE 's/.*RTMP on 127\.0\.0\.1:([0-9]+);.*/\1/p' "$SERVER_LOG" | head -1); [ -n "$RTMP_PORT" ]; }
wait_until 5 rtmp_port || { fail "casty's log names no RTMP port: $(head -c 300 "$SERVER_LOG")"; exit 1; }
RTMP="rtmp://127.0.0.1:$RTMP_PORT"
info "RTMP on $RTMP, application on 127.0.0.1:$APP_PORT"

# calls PATH — the application's recorded calls to PATH, one JSON line each.
calls() { grep -F "\"path\": \"$1" "$TMP/app.jsonl" 2>/dev/null || true; }
# called PATH HEADER=VALUE... — did one call to PATH carry every HEADER=VALUE?
called() {
    python3 - "$TMP/app.jsonl" "$@" <<'PY'
import json, sys
log, path, wanted = sys.argv[1], sys.argv[2], [a.split("=", 1) for a in sys.argv[3:]]
try:
    entries = [json.loads(line) for line in open(log)]
except FileNotFoundError:
    entries = []
ok = any(e["path"].startswith(path) and all(e["headers"].get(k) == v for k, v in wanted) for e in entries)
sys.exit(0 if ok else 1)
PY
}
# rtmp_publish NAME MOUNT KEY FREQ CODEC [ffmpeg inputs and options...] — ffmpeg pushes a FREQ Hz sine in real time over RTMP
# to MOUNT with KEY (CODEC mp3 or aac). Log in $TMP/NAME.log; sets LAST_PID.
rtmp_publish() {
    local name=$1 mount=$2 key=$3 freq=$4 codec=$5 enc
    shift 5
    if [ "$codec" = aac ]; then enc=(-c:a aac -b:a 96k); else enc=(-c:a libmp3lame -b:a 128k); fi
    evidence_log "ffmpeg $name" "$TMP/$name.log"
    ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i "sine=frequency=$freq:sample_rate=44100" \
        "$@" -ac 2 -ar 44100 "${enc[@]}" -f flv "$RTMP$mount/$key" </dev/null >"$TMP/$name.log" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
}

# --- (a)/(b) MP3 and AAC over RTMP ------------------------------------------------------------------------------------
rtmp_publish rtmp-live /live goodkey 440 mp3 -metadata title="RTMP Metadata Title"
LIVE_SRC=$LAST_PID
rtmp_publish rtmp-aac /aac goodkey 660 aac
AAC_SRC=$LAST_PID
rtmp_publish rtmp-video /video goodkey 550 mp3 -f lavfi -i "testsrc=size=320x240:rate=25" -map 0:a -map 1:v -c:v flv1 -b:v 300k
check "(a) ffmpeg published MP3 over RTMP to /live: GET /live answers 200" \
    "(a) /live does not answer 200 within 10 s of ffmpeg's RTMP publish (last $(http_code "$BASE/live"))" wait_live /live 10
check "(a) ffmpeg published AAC over RTMP to /aac: GET /aac answers 200" \
    "(a) /aac does not answer 200 within 10 s of ffmpeg's RTMP publish (last $(http_code "$BASE/aac"))" wait_live /aac 10
curl -s -0 -D "$TMP/headers-live.txt" -o /dev/null --max-time 1 "$BASE/live" || true
curl -s -0 -D "$TMP/headers-aac.txt" -o /dev/null --max-time 1 "$BASE/aac" || true
type_of() { tr -d '\r' <"$1" | grep -i '^content-type:' | head -1 | sed -E 's/^[^:]*:[[:space:]]*//'; }
check "(b) Content-Type audio/mpeg on /live, audio/aac on /aac" \
    "(b) Content-Type is '$(type_of "$TMP/headers-live.txt")' on /live and '$(type_of "$TMP/headers-aac.txt")' on /aac" \
    test "$(type_of "$TMP/headers-live.txt")|$(type_of "$TMP/headers-aac.txt")" = "audio/mpeg|audio/aac"

check "(b) a publisher with video too: GET /video answers 200" \
    "(b) /video does not answer 200 within 10 s (last $(http_code "$BASE/video"))" wait_live /video 10
decoder_start video mpg123 "$BASE/video" 2
wait "$LAST_PID" 2>/dev/null || true
audio_check "(b) mpg123 on /video (the audio of an audio+video publisher)" "$TMP/video.wav" 1.2 550

# --- (c)/(d) players decode, titles arrive ------------------------------------------------------------------------------
decoder_start live mpg123 "$BASE/live" 4
MPG=$LAST_PID
decoder_start aac ffmpeg "$BASE/aac" 4
FFL=$LAST_PID

listen_start meta0 "$BASE/live" 8 --meta --until-title "RTMP Metadata Title" --ua "casty-rtmp-listener/0"
wait "$LAST_PID" 2>/dev/null || true
title_check "(d) the title of ffmpeg's onMetaData reached the Icy-MetaData listener" meta0 "RTMP Metadata Title" || true
listen_start meta1 "$BASE/live" 12 --meta --until-title "RTMP Admin Title" --ua "casty-rtmp-listener/1"
L1=$LAST_PID
sleep 1
code=$(set_title_as "admin:$ADMIN_PW" /live "RTMP Admin Title")
check "(d) /admin/metadata answered 200" "(d) /admin/metadata answered $code: $(head -c 200 "$TMP/metadata-reply.txt" 2>/dev/null)" test "$code" = 200
wait "$L1" 2>/dev/null || true
title_check "(d) the /admin/metadata title reached the listener" meta1 "RTMP Admin Title" || true
wait "$MPG" "$FFL" 2>/dev/null || true
audio_check "(c) mpg123 on /live (MP3 over RTMP)" "$TMP/live.wav" 3.5 440
audio_check "(c) ffmpeg on /aac (AAC over RTMP, served as ADTS)" "$TMP/aac.wav" 3.5 660

# --- (j) librtmp, as OBS Studio publishes ------------------------------------------------------------------------------
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "sine=frequency=880:sample_rate=44100" -t 6 -ac 2 \
    -c:a libmp3lame -b:a 128k -metadata title="Through librtmp" -f flv "$TMP/obs.flv" </dev/null
evidence_log "librtmp publisher" "$TMP/librtmp.log"
python3 "$STATION_ROOT/scripts/station/librtmp.py" "$RTMP/obs/goodkey" "$TMP/obs.flv" </dev/null >"$TMP/librtmp.log" 2>&1 &
LIBRTMP=$!
peers_track "$LIBRTMP"
check "(j) librtmp published MP3 to /obs: GET /obs answers 200" \
    "(j) /obs does not answer 200 within 10 s of librtmp's publish (last $(http_code "$BASE/obs"); $(head -c 200 "$TMP/librtmp.log"))" \
    wait_live /obs 10
decoder_start obs mpg123 "$BASE/obs" 3
OBS_DEC=$LAST_PID
listen_start obsmeta "$BASE/obs" 6 --meta --until-title "Through librtmp" --ua "casty-rtmp-listener/obs"
wait "$OBS_DEC" "$LAST_PID" 2>/dev/null || true
audio_check "(j) mpg123 on /obs (MP3 published through librtmp)" "$TMP/obs.wav" 2.5 880
title_check "(j) librtmp's onMetaData title reached the Icy-MetaData listener" obsmeta "Through librtmp" || true

# --- (e) refusals --------------------------------------------------------------------------------------------------
evidence_log "ffmpeg wrong key" "$TMP/wrong.log"
status=0
timeout 15 ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i "sine=frequency=330" -t 5 -c:a libmp3lame \
    -f flv "$RTMP/spare/wrongkey" </dev/null >"$TMP/wrong.log" 2>&1 || status=$?
check "(e) a wrong key on /spare: ffmpeg exits with status $status ($(grep -m1 -i 'error' "$TMP/wrong.log" | cut -c1-120))" \
    "(e) ffmpeg with a wrong key exited with status $status (expected non-zero, not 124: timeout)" \
    test "$status" -ne 0 -a "$status" -ne 124
check "(e) the application was asked: x-streaming-channel spare, x-streaming-key wrongkey" \
    "(e) the application saw no /verify call for spare with wrongkey: $(calls /verify | tail -2 | cut -c1-300)" \
    called /verify x-streaming-channel=spare x-streaming-key=wrongkey
check "(e) one log line says the RTMP publisher was refused on /spare" \
    "(e) $(grep -c 'refused on /spare (RTMP)' "$SERVER_LOG" || true) log lines say so (expected 1)" \
    test "$(grep -c 'refused on /spare (RTMP)' "$SERVER_LOG" || true)" = 1
verifications=$(calls /verify | wc -l)
status=0
timeout 15 ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i "sine=frequency=330" -t 5 -c:a libmp3lame \
    -f flv "$RTMP/unlisted/goodkey" </dev/null >"$TMP/unlisted.log" 2>&1 || status=$?
check "(e) a mount not on the whitelist: ffmpeg exits with status $status, the application not asked" \
    "(e) /unlisted: ffmpeg status $status, application calls $verifications → $(calls /verify | wc -l)" \
    test "$status" -ne 0 -a "$status" -ne 124 -a "$(calls /verify | wc -l)" = "$verifications"

# --- (f) the application's view ------------------------------------------------------------------------------------
verified() { called /verify x-streaming-channel=live x-streaming-key=goodkey && called /verify x-streaming-channel=aac x-streaming-key=goodkey; }
check "(f) the application verified goodkey for live and aac" \
    "(f) no /verify call with goodkey for live and aac: $(calls /verify | head -3 | cut -c1-300)" verified
available() { called /events x-streaming-channel=live x-event-type=stream-available && called /events x-streaming-channel=aac x-event-type=stream-available; }
check "(f) stream-available arrived for live and aac" \
    "(f) stream-available missing: $(calls /events | cut -c1-300)" wait_until 5 available

# --- (g) malformed peers -------------------------------------------------------------------------------------------
evidence_log "malformed peers" "$TMP/garbage.out"
python3 - "$RTMP_PORT" >"$TMP/garbage.out" 2>&1 <<'PY' || true
import os, random, socket, struct, sys, time
port = int(sys.argv[1])
random.seed(1935)

def amf_string(text):
    data = text.encode()
    return b"\x02" + struct.pack(">H", len(data)) + data

def handshake(sock):
    sock.sendall(b"\x03" + os.urandom(1536))
    need = 1 + 1536 * 2
    got = b""
    while len(got) < need:
        chunk = sock.recv(need - len(got))
        if not chunk:
            raise OSError("closed during the handshake")
        got += chunk
    sock.sendall(got[1:1537])  # C2 = S1

def closed_by_server(sock, seconds=5):
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
        return True
    except (socket.timeout, TimeoutError):
        return False
    except OSError:
        return True

cases = {
    "bad version": lambda s: s.sendall(b"\x06" + os.urandom(1536)),
    "random chunk headers": lambda s: (handshake(s), s.sendall(bytes(random.getrandbits(8) for _ in range(4096)))),
    "AMF garbage in a command": lambda s: (handshake(s), s.sendall(
        bytes([3, 0, 0, 0, 0, 0, 40, 20, 0, 0, 0, 0]) + amf_string("connect") + b"\x00\x3f" + b"\xee" * 28)),
}
for name, attack in cases.items():
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        attack(sock)
        print(f"{name}: {'closed' if closed_by_server(sock) else 'STILL OPEN'}")
    except OSError as error:
        print(f"{name}: closed ({error})")
    finally:
        sock.close()
# A truncated handshake: half of C1, then the client waits; Casty must drop it at its header timeout (15 s).
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
sock.sendall(b"\x03" + os.urandom(700))
started = time.monotonic()
print(f"truncated handshake: {'dropped' if closed_by_server(sock, 25) else 'STILL OPEN'} after {time.monotonic() - started:.1f} s")
sock.close()
PY
info "malformed peers: $(tr '\n' ';' <"$TMP/garbage.out")"
check "(g) every malformed peer was closed by Casty" "(g) $(grep -c 'STILL OPEN' "$TMP/garbage.out" || true) stayed open: $(tr '\n' ';' <"$TMP/garbage.out")" \
    test "$(grep -c ': closed' "$TMP/garbage.out" || true)" = 3
check "(g) each was one log line (3 protocol errors)" \
    "(g) $(grep -cE '^.{9}rtmp 127\.0\.0\.1:[0-9]+: .*; closed$' "$SERVER_LOG" || true) log lines for protocol errors (expected 3)" \
    test "$(grep -cE '^.{9}rtmp 127\.0\.0\.1:[0-9]+: .*; closed$' "$SERVER_LOG" || true)" = 3
check "(g) a peer that stalls mid-handshake is dropped at the header timeout ($(grep truncated "$TMP/garbage.out"))" \
    "(g) the stalled handshake: $(grep truncated "$TMP/garbage.out" || echo 'no answer')" grep -qE 'truncated handshake: dropped after 1[4-8]\.' "$TMP/garbage.out"
# Memory stays bounded: 300 more peers that send random chunk headers after a good handshake.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_before=$(rss_kb "$SERVER_PID")
python3 - "$RTMP_PORT" >"$TMP/flood.out" 2>&1 <<'PY' || true
import os, socket, sys
port, closed = int(sys.argv[1]), 0
for _ in range(300):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(b"\x03" + os.urandom(1536))
        need, got = 1 + 1536 * 2, b""
        while len(got) < need:
            chunk = sock.recv(need - len(got))
            if not chunk:
                raise OSError("closed during the handshake")
            got += chunk
        sock.sendall(got[1:1537] + os.urandom(4096))
        while sock.recv(65536):
            pass
        closed += 1
    except OSError:
        closed += 1
    finally:
        sock.close()
print(f"closed {closed} of 300")
PY
rss_after=$(rss_kb "$SERVER_PID")
check "(g) 300 more garbage peers were all closed and Casty's RSS grew by less than 10 MB ($rss_before → $rss_after kB)" \
    "(g) flood: $(cat "$TMP/flood.out"); RSS $rss_before → $rss_after kB" \
    eval 'grep -q "closed 300 of 300" "$TMP/flood.out" && test $((rss_after - rss_before)) -lt 10240'
unaffected() { mount_live /live && mount_live /aac && alive "$LIVE_SRC" && alive "$AAC_SRC"; }
check "(g) after them, /live and /aac still answer 200 and both publishers are connected" \
    "(g) /live $(http_code "$BASE/live"), /aac $(http_code "$BASE/aac"), publishers alive: $(alive "$LIVE_SRC" && echo live) $(alive "$AAC_SRC" && echo aac)" \
    unaffected

librtmp_status=0
wait "$LIBRTMP" || librtmp_status=$?
check "(j) the librtmp publisher sent its whole file and ended ($(tail -1 "$TMP/librtmp.log"))" \
    "(j) the librtmp publisher exited with status $librtmp_status: $(tail -2 "$TMP/librtmp.log")" test "$librtmp_status" = 0

# --- (h) status -------------------------------------------------------------------------------------------------------
curl -s --max-time 3 -o "$TMP/status.json" "$BASE/status.json" || true
evidence_log "/status.json" "$TMP/status.json"
rtmp_status=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["icestats"]["rtmp"]; print(" ".join(f"{k}={v}" for k, v in r.items()))' "$TMP/status.json" 2>&1 || true)
info "icestats.rtmp: $rtmp_status"
check "(h) /status.json icestats.rtmp: 3 publishing, 2 refused, 303 malformed, 1 timed out, audio counted, video ignored" \
    "(h) icestats.rtmp is '$rtmp_status'" \
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["icestats"]["rtmp"]; sys.exit(0 if r["publishing"] == 3 and r["refused"] == 2 and r["malformed"] == 303 and r["timed_out"] == 1 and r["connections"] >= 309 and r["audio_messages"] > 100 and r["video_messages_ignored"] > 10 else 1)' "$TMP/status.json"

# --- (i) the end of a publisher ---------------------------------------------------------------------------------------
kill "$LIVE_SRC" 2>/dev/null || true
closed() { called /events x-streaming-channel=live x-event-type=stream-closed; }
check "(i) the MP3 publisher stopped: stream-closed for live arrived" \
    "(i) no stream-closed for live within 10 s: $(calls /events | cut -c1-300)" wait_until 10 closed
check "(i) one log line says the source on /live ended" "(i) no 'on /live ended' line in the log" \
    grep -q "on /live ended" "$SERVER_LOG"

station_end
