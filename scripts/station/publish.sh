#!/usr/bin/env bash
# publish.sh [casty|icecast] — ffmpeg publishes to the server under test; players listen on the same port.
#
#   (a) ffmpeg `-f mp3 icecast://source:PW@…/live` (PUT + Expect: 100-continue) with -ice_name, -ice_genre,
#       -ice_description, -ice_url: /live answers 200 within 10 s;
#   (b) ffmpeg `-content_type audio/aac -f adts` to /aac: /aac answers 200;
#   (c) a listener's reply on /live carries icy-name, icy-genre, icy-description, icy-url from the source's
#       ice-* headers, and Content-Type audio/mpeg; /aac's Content-Type is audio/aac;
#   (d) mpg123 decodes 4 s of /live: not silent, 440 Hz (the source's tone); ffmpeg decodes 4 s of /aac:
#       not silent, 660 Hz;
#   (e) a title set with /admin/metadata (admin credentials) reaches an Icy-MetaData listener (python3 ICY
#       reader) within 5 s, with intact framing; a second title set with the source's credentials too;
#   (f) /status.json lists both mounts in icestats.source (an array); /admin/listmounts names both; /admin/stats is
#       Icecast's XML with a source for /live;
#       /admin/listclients?mount=/live names a connected listener (its User-Agent); the admin answers are
#       JSON for casty (Icecast 2.4 answers XML);
#   (g) /admin/killsource?mount=/aac ends the AAC source: /aac answers 404 within 5 s and ffmpeg exits.
#   (i) /live.m3u names the stream's URL, and mpg123 -@ plays /live from it (Icecast serves it too);
#   (h) curl -T FILE with Expect: 100-continue (a PUT that waits for a final status once its body is sent) ends with
#       status 0 and 200, as against Icecast.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/lib.sh"
station_begin "${1:-casty}" mpg123

server_start --accept-all

# --- (a)/(b) ffmpeg publishes MP3 to /live and AAC to /aac -------------------------------------------------
ffmpeg_publish ffmpeg-live /live 440 mp3 -ice_name "Casty Publish Test" -ice_genre "Test Genre" \
    -ice_description "A 440 Hz sine published by ffmpeg" -ice_url "http://casty.example/"
LIVE_SRC=$LAST_PID
ffmpeg_publish ffmpeg-aac /aac 660 aac -ice_name "Casty AAC Test"
AAC_SRC=$LAST_PID
check "(a) ffmpeg published MP3 to /live (PUT): GET /live answers 200" \
    "(a) /live does not answer 200 within 10 s of ffmpeg's PUT (last $(http_code "$BASE/live"))" wait_live /live 10
check "(b) ffmpeg published AAC (ADTS) to /aac: GET /aac answers 200" \
    "(b) /aac does not answer 200 within 10 s of ffmpeg's PUT (last $(http_code "$BASE/aac"))" wait_live /aac 10

# --- (c) station headers --------------------------------------------------------------------------------------
curl -s -0 -D "$TMP/headers-live.txt" -o /dev/null --max-time 1 "$BASE/live" || true
curl -s -0 -D "$TMP/headers-aac.txt" -o /dev/null --max-time 1 "$BASE/aac" || true
evidence_log "reply headers /live" "$TMP/headers-live.txt"
evidence_log "reply headers /aac" "$TMP/headers-aac.txt"
hdr() { tr -d '\r' <"$1" | grep -i "^$2:" | head -1 | sed -E 's/^[^:]*:[[:space:]]*//'; }
info "/live reply: $(head -1 "$TMP/headers-live.txt" | tr -d '\r'); $(tr -d '\r' <"$TMP/headers-live.txt" | grep -iE '^(icy-|content-type)' | tr '\n' ';')"
check "(c) icy-name from the source's ice-name: $(hdr "$TMP/headers-live.txt" icy-name)" \
    "(c) icy-name is '$(hdr "$TMP/headers-live.txt" icy-name)', not 'Casty Publish Test'" \
    test "$(hdr "$TMP/headers-live.txt" icy-name)" = "Casty Publish Test"
check "(c) icy-genre from the source's ice-genre: $(hdr "$TMP/headers-live.txt" icy-genre)" \
    "(c) icy-genre is '$(hdr "$TMP/headers-live.txt" icy-genre)', not 'Test Genre'" \
    test "$(hdr "$TMP/headers-live.txt" icy-genre)" = "Test Genre"
check "(c) icy-description and icy-url from the source's ice-description and ice-url" \
    "(c) icy-description '$(hdr "$TMP/headers-live.txt" icy-description)' / icy-url '$(hdr "$TMP/headers-live.txt" icy-url)' not passed on" \
    test "$(hdr "$TMP/headers-live.txt" icy-description)|$(hdr "$TMP/headers-live.txt" icy-url)" = "A 440 Hz sine published by ffmpeg|http://casty.example/"
check "(c) Content-Type audio/mpeg on /live, audio/aac on /aac" \
    "(c) Content-Type is '$(hdr "$TMP/headers-live.txt" content-type)' on /live and '$(hdr "$TMP/headers-aac.txt" content-type)' on /aac" \
    test "$(hdr "$TMP/headers-live.txt" content-type)|$(hdr "$TMP/headers-aac.txt" content-type)" = "audio/mpeg|audio/aac"

# --- (d) players decode audio -----------------------------------------------------------------------------------
decoder_start live mpg123 "$BASE/live" 4
MPG=$LAST_PID
decoder_start aac ffmpeg "$BASE/aac" 4
FFL=$LAST_PID

# --- (e) titles, while the players decode ---------------------------------------------------------------------
listen_start meta1 "$BASE/live" 12 --meta --until-title "Publish Title One" --ua "casty-publish-listener/1"
L1=$LAST_PID
sleep 1
code=$(set_title_as "admin:$ADMIN_PW" /live "Publish Title One")
check "(e) /admin/metadata with admin credentials answered 200" "(e) /admin/metadata (admin) answered $code: $(head -c 200 "$TMP/metadata-reply.txt" 2>/dev/null)" test "$code" = 200
t0=$(now_ms)
wait "$L1" 2>/dev/null || true
if title_check "(e) the title reached the Icy-MetaData listener" meta1 "Publish Title One"; then
    measure "title latency, admin/metadata to listener" "$(($(now_ms) - t0))" "ms (upper bound: includes reader exit)"
fi

listen_start meta2 "$BASE/live" 12 --meta --until-title "Publish Title Two" --ua "casty-publish-listener/2"
L2=$LAST_PID
sleep 1
code=$(set_title_as "source:$SRC_PW" /live "Publish Title Two")
check "(e) /admin/metadata with the source's credentials answered 200" "(e) /admin/metadata (source:PW) answered $code: $(head -c 200 "$TMP/metadata-reply.txt" 2>/dev/null)" test "$code" = 200

# --- (f) status and admin, while meta2 listens ----------------------------------------------------------------
# ok_and_has CODE FILE TEXT... — CODE is 200 and FILE contains every TEXT.
ok_and_has() {
    local code=$1 file=$2 text
    shift 2
    [ "$code" = 200 ] || return 1
    for text in "$@"; do grep -qF -- "$text" "$file" || return 1; done
}
curl -s --max-time 3 -o "$TMP/status.json" "$BASE/status.json" || true
evidence_log "/status.json" "$TMP/status.json"
mounts=$(python3 "$ICY_PY" status-mounts "$TMP/status.json" 2>&1 || true)
if [ "$(head -1 <<<"$mounts")" = array ] && grep -qx /live <<<"$mounts" && grep -qx /aac <<<"$mounts"; then
    pass "(f) /status.json: icestats.source is an array with /live and /aac"
else
    fail "(f) /status.json: icestats.source is not an array listing /live and /aac: $(tr '\n' ' ' <<<"$mounts")"
fi
code=$(admin_get "admin:$ADMIN_PW" /admin/listmounts "$TMP/listmounts.txt")
evidence_log "/admin/listmounts" "$TMP/listmounts.txt"
check "(f) /admin/listmounts answered 200 naming /live and /aac" \
    "(f) /admin/listmounts answered $code: $(head -c 300 "$TMP/listmounts.txt" 2>/dev/null)" \
    ok_and_has "$code" "$TMP/listmounts.txt" /live /aac
# Icecast's monitoring call: XML that monitoring tools parse (here Python's XML parser), with each mount a source.
code=$(admin_get "admin:$ADMIN_PW" /admin/stats "$TMP/stats.xml")
evidence_log "/admin/stats" "$TMP/stats.xml"
stats_parse() {
    [ "$code" = 200 ] && python3 - "$TMP/stats.xml" <<'PY'
import sys, xml.etree.ElementTree as tree
root = tree.parse(sys.argv[1]).getroot()
sources = {source.get("mount"): source for source in root.findall("source")}
live = sources["/live"]
assert root.tag == "icestats" and int(live.findtext("listeners")) >= 0, "no listeners"
assert live.findtext("server_type").startswith("audio/"), live.findtext("server_type")
PY
}
check "(f) /admin/stats is XML: icestats with a source mount=\"/live\", its listeners and server_type" \
    "(f) /admin/stats answered $code: $(head -c 300 "$TMP/stats.xml" 2>/dev/null)" stats_parse
# A listener that stays for the listing (meta2 leaves as soon as it has seen its title, which a fast server
# delivers before this point).
listen_start listed "$BASE/live" 8 --ua "casty-publish-listener/3"
listed() {
    code=$(admin_get "admin:$ADMIN_PW" "/admin/listclients?mount=/live" "$TMP/listclients.txt")
    grep -qF casty-publish-listener/3 "$TMP/listclients.txt"
}
wait_until 6 listed || true
evidence_log "/admin/listclients" "$TMP/listclients.txt"
check "(f) /admin/listclients?mount=/live answered 200 naming the listener (its User-Agent)" \
    "(f) /admin/listclients?mount=/live answered $code without casty-publish-listener/3: $(head -c 300 "$TMP/listclients.txt" 2>/dev/null)" \
    ok_and_has "$code" "$TMP/listclients.txt" casty-publish-listener/3
if casty_only "admin answers are JSON (Icecast 2.4 answers XML)"; then
    check "(f) /admin/listmounts and /admin/listclients answers are JSON" \
        "(f) an admin answer is not JSON: $(head -c 200 "$TMP/listmounts.txt" 2>/dev/null)" \
        python3 -c 'import json,sys; [json.load(open(f)) for f in sys.argv[1:]]' "$TMP/listmounts.txt" "$TMP/listclients.txt" 2>/dev/null
    check "(f) /admin/listclients gives each listener's user agent in a field of its own" \
        "(f) no client with user_agent casty-publish-listener/3: $(head -c 300 "$TMP/listclients.txt" 2>/dev/null)" \
        python3 -c 'import json,sys; sys.exit(0 if any(c.get("user_agent") == "casty-publish-listener/3" for c in json.load(open(sys.argv[1]))["clients"]) else 1)' "$TMP/listclients.txt"
else
    info "icecast listmounts answer starts: $(head -c 120 "$TMP/listmounts.txt" | tr '\n' ' ')"
fi

wait "$L2" 2>/dev/null || true
title_check "(e) the title set with the source's credentials reached the listener" meta2 "Publish Title Two" || true

wait "$MPG" "$FFL" 2>/dev/null || true
audio_check "(d) mpg123 on /live" "$TMP/live.wav" 3.5 440
audio_check "(d) ffmpeg on /aac" "$TMP/aac.wav" 3.5 660

# --- (g) killsource -------------------------------------------------------------------------------------------
code=$(admin_get "admin:$ADMIN_PW" "/admin/killsource?mount=/aac" "$TMP/killsource.txt")
evidence_log "/admin/killsource" "$TMP/killsource.txt"
check "(g) /admin/killsource?mount=/aac answered 200" "(g) /admin/killsource answered $code: $(head -c 200 "$TMP/killsource.txt" 2>/dev/null)" test "$code" = 200
aac_gone() { [ "$(http_code "$BASE/aac")" = 404 ]; }
check "(g) after killsource /aac answers 404" "(g) /aac still answers $(http_code "$BASE/aac") 5 s after killsource" wait_until 5 aac_gone
aac_src_gone() { ! alive "$AAC_SRC"; }
check "(g) the AAC ffmpeg source was disconnected (it exited)" "(g) the AAC ffmpeg source still runs 5 s after killsource" wait_until 5 aac_src_gone
check "(g) /live still plays after /aac was killed" "(g) /live answers $(http_code "$BASE/live") after killsource /aac" mount_live /live
alive "$LIVE_SRC" || fail "the /live ffmpeg source exited: $(tail -3 "$TMP/ffmpeg-live.log" | tr '\n' ' ')"

# --- (i) the mount's playlist file, opened by a player ---------------------------------------------------------
m3u=$(curl -s --max-time 5 "$BASE/live.m3u" | tr -d '\r')
check "(i) /live.m3u names $m3u" "(i) /live.m3u holds '$m3u', not $BASE/live" test "$m3u" = "$BASE/live"
rc=0
timeout 20 mpg123 -q -t -n 40 -@ "$BASE/live.m3u" >"$TMP/mpg123-m3u.log" 2>&1 || rc=$?
evidence_log "mpg123 -@ /live.m3u" "$TMP/mpg123-m3u.log"
check "(i) mpg123 -@ /live.m3u decoded 40 frames of /live" "(i) mpg123 -@ /live.m3u ended with status $rc" test "$rc" = 0

# --- (h) curl -T: a PUT that reads its final status ----------------------------------------------------------
ffmpeg -nostdin -loglevel error -f lavfi -i sine=frequency=550:duration=2 -c:a libmp3lame -b:a 128k -f mp3 "$TMP/upload.mp3"
rc=0
code=$(timeout 20 curl -s -o /dev/null -w '%{http_code}' -T "$TMP/upload.mp3" -H 'Expect: 100-continue' \
    -H 'Content-Type: audio/mpeg' -u "source:$SRC_PW" "$BASE/upload") || rc=$?
check "(h) curl -T with Expect: 100-continue ended with status 0 and HTTP $code" \
    "(h) curl -T ended with status $rc and HTTP $code (expected 0 and 200)" test "$rc:$code" = "0:200"

station_end
