#!/usr/bin/env bash
# live.sh — every mount as live HLS, judged by real players and caches (issue 14). A `casty-cli root` (a station
# server that places branches) plays the built-in station on /tone (MP3) and takes an ffmpeg AAC source on
# /aac, with --hls-target 4 and --hls-dir; a `casty-cli branch` relays /tone from it; nginx serves the
# --hls-dir as static files and caches Casty's own HLS route.
#
#   (a) /tone/index.m3u8 and master.m3u8 answer with application/vnd.apple.mpegurl, the codec (mp4a.40.34 for
#       MP3, mp4a.40.2 for the AAC mount) and a bandwidth; segments are audio/mpeg (audio/aac), immutable;
#   (b) ffmpeg reads the live playlist and decodes 30 s: exit 0, nothing at -loglevel error, 30 s of non-silent
#       audio; ffprobe finds MP3 in /tone's HLS and AAC in /aac's;
#   (c) RFC 8216's rules on every reload for 30 s (hls.py rules), and each segment's ID3 timestamp is the one
#       before plus its EXTINF (within 2 ms), and each EXT-X-PROGRAM-DATE-TIME comes after the one before;
#   (d) the branch's /tone HLS lists segments under the same names and sequence numbers as the root's, byte-identical (the branch has
#       no --hls-target of its own: it takes the root's 4 s from the tree link);
#   (e) cvlc (as nobody) plays the branch's /tone/index.m3u8 for 20 s, reloading the playlist on kept-alive
#       connections (fewer connections than requests);
#   (f) nginx serves the --hls-dir and ffmpeg plays through it; nginx as a caching reverse proxy of Casty's HLS
#       route (with kept-alive upstream connections) answers a segment's second request from its cache (its
#       access log says HIT);
#   (g) curl reuses one connection for a playlist and a segment (HTTP/1.1 keep-alive); a segment asked again with
#       its ETag in If-None-Match is 304; a Range is 206 with exactly those bytes; past the end, 416 (not stored);
#   (i) a variable-bitrate MP3 source (LAME -q:a 2, a tone and noise taking turns): its segments hold frames of
#       several bitrates yet each lasts the target to within a frame, RFC 8216's rules and the ID3 timestamps hold
#       for 10 s of reloads, and ffmpeg decodes it with nothing at -loglevel error;
#   (h) after (c)'s 30 s of reloads, /status.json counts /tone's HLS players (≥ 1 within three targets) and the
#       playlists and segments served;
#   (j) SIGTERM: the root deletes the live playlists it wrote to --hls-dir.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/../station/lib.sh"
VERDICT_NAME=hls-live
station_begin casty ffprobe nginx cvlc runuser
HLS_PY="$STATION_DIR/../hls/hls.py"
playlist_ready() { [ "$(http_code "$1")" = 200 ]; }

SERVER_COMMAND=root server_start --accept-all --station /tone --title-every 10 --hls-target 4 --hls-dir "$TMP/hls"
ROOT=$BASE
ffmpeg_publish aac-source /aac 440 aac
evidence_log "ffmpeg vbr-source" "$TMP/vbr-source.log"
ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi \
    -i "aevalsrc='if(lt(mod(t\,6)\,3)\,0.3*sin(2*PI*440*t)\,0.5*(random(0)-0.5))':s=44100" -ac 2 -map_metadata -1 \
    -c:a libmp3lame -q:a 2 -id3v2_version 0 -write_xing 0 -content_type audio/mpeg -f mp3 \
    "icecast://source:$SRC_PW@127.0.0.1:$PORT/vbr" </dev/null >"$TMP/vbr-source.log" 2>&1 &
peers_track $!
BRANCH_PORT=$(station_port)
evidence_log "casty-cli branch" "$TMP/branch.log"
"$CLI" branch --root "$ROOT/" --host 127.0.0.1 --port "$BRANCH_PORT" --advertise "127.0.0.1:$BRANCH_PORT" >"$TMP/branch.log" 2>&1 &
peers_track $!
BRANCH="http://127.0.0.1:$BRANCH_PORT"
# The branch relays /tone once asked: this first request makes its packager (503 until its window is long enough).
wait_until 10 listening "$BRANCH_PORT" || { fail "the branch did not listen"; exit 1; }
http_code "$BRANCH/tone/index.m3u8" >/dev/null

if ! wait_until 40 playlist_ready "$ROOT/tone/index.m3u8"; then
    fail "(a) $ROOT/tone/index.m3u8 did not answer 200 within 40 s: $(curl -s "$ROOT/tone/index.m3u8" | head -c 200)"
    exit 1
fi
info "root playlist ready: $(curl -s "$ROOT/tone/index.m3u8" | grep -c '^#EXTINF') segments"

# --- (b) ffmpeg decodes 30 s, in the background while the rest runs ---------------------------------------
evidence_log "ffmpeg HLS player" "$TMP/ffmpeg-hls.log"
timeout 60 ffmpeg -nostdin -hide_banner -loglevel error -i "$ROOT/tone/index.m3u8" -t 30 -ac 2 -ar 44100 -f wav -y \
    "$TMP/hls.wav" >"$TMP/ffmpeg-hls.log" 2>&1 &
FF_PID=$!
peers_track "$FF_PID"

# --- (a) headers ---------------------------------------------------------------------------------------------
curl -s -D "$TMP/media.h" -o "$TMP/media.m3u8" "$ROOT/tone/index.m3u8"
curl -s -D "$TMP/master.h" -o "$TMP/master.m3u8" "$ROOT/tone/master.m3u8"
first=$(grep -v '^#' "$TMP/media.m3u8" | tail -1)
curl -s -D "$TMP/segment.h" -o "$TMP/segment.mp3" "$ROOT/tone/$first"
check "(a) playlists are application/vnd.apple.mpegurl with a short max-age, the master names mp4a.40.34 and a bandwidth" \
    "(a) playlist headers or master playlist not as expected: $(tr '\r\n' '  ' <"$TMP/media.h") / $(tr '\n' ' ' <"$TMP/master.m3u8")" bash -c "grep -qi '^content-type: application/vnd.apple.mpegurl' '$TMP/media.h' && grep -qi 'max-age=1' '$TMP/media.h' &&
             grep -q 'CODECS=\"mp4a.40.34\"' '$TMP/master.m3u8' && grep -q 'BANDWIDTH=[0-9]' '$TMP/master.m3u8'"
check "(a) a segment is audio/mpeg, immutable for a year, and starts with an ID3 tag" \
    "(a) segment $first: $(tr '\r\n' '  ' <"$TMP/segment.h")" bash -c "grep -qi '^content-type: audio/mpeg' '$TMP/segment.h' && grep -qi 'immutable' '$TMP/segment.h' && head -c 3 '$TMP/segment.mp3' | grep -q ID3"

# --- (g) one connection, conditional and partial requests ------------------------------------------------------
curl -sv -o /dev/null -o /dev/null "$ROOT/tone/index.m3u8" "$ROOT/tone/$first" 2>"$TMP/reuse.log" || true
etag=$(grep -i '^etag:' "$TMP/segment.h" | tr -d '\r' | cut -d' ' -f2-)
not_modified=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$ROOT/tone/$first")
curl -s -D "$TMP/range.h" -o "$TMP/range.bin" -H 'Range: bytes=100-1099' "$ROOT/tone/$first"
past_end=$(curl -s -D "$TMP/past.h" -o /dev/null -w '%{http_code}' -H 'Range: bytes=99999999-' "$ROOT/tone/$first")
# ... and that 416 is not for a cache to keep (the segment's own answer is immutable for a year).
grep -qi '^cache-control: no-store' "$TMP/past.h" || past_end="$past_end, cacheable: $(grep -i '^cache-control' "$TMP/past.h" | tr -d '\r')"
head -c 1100 "$TMP/segment.mp3" | tail -c 1000 >"$TMP/range.expected"
check "(g) one connection for two requests (curl: re-using), ETag $etag revalidates as 304, Range is 206 with those 1000 bytes, past the end 416" \
    "(g) reuse: $(grep -ci 're-using' "$TMP/reuse.log"), If-None-Match: $not_modified, range: $(tr '\r\n' '  ' <"$TMP/range.h" | head -c 200), past the end: $past_end" \
    bash -c "grep -qi 're-using existing' '$TMP/reuse.log' && [ -n '$etag' ] && [ '$not_modified' = 304 ] && [ '$past_end' = 416 ] &&
             grep -q '^HTTP/1.1 206' '$TMP/range.h' && grep -qi '^content-range: bytes 100-1099/' '$TMP/range.h' && cmp -s '$TMP/range.bin' '$TMP/range.expected'"

# --- (c) the rules, for 30 s ----------------------------------------------------------------------------------
rules=$(python3 "$HLS_PY" rules "$ROOT/tone/index.m3u8" --seconds 30 --tolerance-ms 2 2>&1 || true)
case $rules in
    OK*) pass "(c) RFC 8216's rules held on every reload, ID3 timestamps follow each other: $rules" ;;
    *) fail "(c) $rules" ;;
esac

# --- (h) the HLS audience in /status.json ------------------------------------------------------------------------
# Asked right after (c)'s reloads: a player counts for three targets after its last fetch, and (i) takes longer
# than that on a loaded machine.
hls_status=$(curl -s "$ROOT/status.json" | python3 -c '
import json, sys
for source in json.load(sys.stdin)["icestats"]["source"]:
    if source["mount"] == "/tone":
        hls = source.get("hls", {})
        print(hls.get("players", -1), hls.get("playlists_served", -1), hls.get("segments_served", -1))
' 2>&1 || true)
read -r hls_players hls_playlists hls_segments <<<"$hls_status"
if [ "${hls_players:--1}" -ge 1 ] 2>/dev/null && [ "${hls_playlists:-0}" -ge 30 ] && [ "${hls_segments:-0}" -ge 3 ]; then
    pass "(h) /status.json counts /tone's HLS audience: $hls_players players now, $hls_playlists playlists and $hls_segments segments served"
else
    fail "(h) /status.json's hls object for /tone: '$hls_status' (players ≥ 1, playlists ≥ 30, segments ≥ 3 expected)"
fi

# --- (i) a variable bitrate ---------------------------------------------------------------------------------------
vbr=$(python3 "$HLS_PY" vbr "$ROOT/vbr/index.m3u8" --target 4 2>&1 || true)
vbr_rules=$(python3 "$HLS_PY" rules "$ROOT/vbr/index.m3u8" --seconds 10 --tolerance-ms 2 2>&1 || true)
vbr_decode=$(timeout 30 ffmpeg -nostdin -hide_banner -loglevel error -i "$ROOT/vbr/index.m3u8" -t 8 -f null - 2>&1; echo "rc=$?")
if [[ $vbr == OK* && $vbr_rules == OK* && $vbr_decode == rc=0 ]]; then
    pass "(i) a variable-bitrate MP3 mount: $vbr; rules: $vbr_rules; ffmpeg decoded 8 s with nothing at -loglevel error"
else
    fail "(i) a variable-bitrate MP3 mount: $vbr / rules: $vbr_rules / ffmpeg: $(head -c 300 <<<"$vbr_decode")"
fi

# --- (d) root and branch ---------------------------------------------------------------------------------------
if wait_until 30 playlist_ready "$BRANCH/tone/index.m3u8"; then
    same=$(python3 "$HLS_PY" same "$ROOT/tone/index.m3u8" "$BRANCH/tone/index.m3u8" 2>&1 || true)
    case $same in
        OK*) pass "(d) root and branch: $same" ;;
        *) fail "(d) root and branch: $same" ;;
    esac
else
    fail "(d) the branch's /tone/index.m3u8 did not answer 200 within 30 s"
fi

# --- (e) cvlc plays the branch's HLS ----------------------------------------------------------------------------
evidence_log "cvlc" "$TMP/vlc.log"
# On HTTP/1.0 answers headless VLC used to end a live playlist early (its HTTP module failed to reuse the closed
# connection); with keep-alive it plays on, reloading the playlist on the connection it keeps. It plays 20 s: it
# must exit 0 after decoding MP3, reload the playlist at least 3 times (4 s segments) and open fewer connections
# ("resolving") than it makes requests.
vlc_played() {
    vlc_rc=0
    as_unprivileged timeout 45 cvlc -vv --play-and-exit --run-time 20 --aout=dummy --no-video "$BRANCH/tone/index.m3u8" \
        >"$TMP/vlc.log" 2>&1 || vlc_rc=$?
    vlc_reloads=$(grep -c 'Updated playlist ID' "$TMP/vlc.log" || true)
    vlc_requests=$(grep -c 'http demux debug: outgoing request' "$TMP/vlc.log" || true)
    vlc_connections=$(grep -c 'http demux debug: resolving' "$TMP/vlc.log" || true)
    [ "$vlc_rc" = 0 ] && log_has "$TMP/vlc.log" 'using audio decoder module "(mpg123|mpga|mad|avcodec)"' &&
        log_has "$TMP/vlc.log" '(adaptive|hls)' && [ "$vlc_reloads" -ge 3 ] && [ "$vlc_connections" -lt "$vlc_requests" ]
}
if vlc_played; then
    pass "(e) cvlc (as nobody) played the branch's HLS for 20 s: MP3 decoded, $vlc_reloads playlist reloads, $vlc_requests requests on $vlc_connections connections"
else
    fail "(e) cvlc exit status $vlc_rc, $vlc_reloads reloads, $vlc_requests requests on $vlc_connections connections (or no adaptive/MPEG decoder lines)"
fi

# --- (f) nginx: static --hls-dir, and a caching reverse proxy ----------------------------------------------------
NGINX_PORT=$(station_port)
mkdir -p "$TMP/nginx-temp" "$TMP/nginx-cache"
cat >"$TMP/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    types { audio/aac aac; }  # README's line, after Debian's mime.types
    map \$uri \$hls_cache { ~\\.m3u8\$ "max-age=1"; default "max-age=3600"; }
    log_format cache '\$request_uri \$status \$upstream_cache_status';
    access_log $TMP/nginx-access.log cache;
    client_body_temp_path $TMP/nginx-temp/body;
    proxy_temp_path $TMP/nginx-temp/proxy;
    fastcgi_temp_path $TMP/nginx-temp/fastcgi;
    uwsgi_temp_path $TMP/nginx-temp/uwsgi;
    scgi_temp_path $TMP/nginx-temp/scgi;
    proxy_cache_path $TMP/nginx-cache levels=1:2 keys_zone=hls:10m max_size=100m inactive=10m use_temp_path=off;
    upstream casty { server ${ROOT#http://}; keepalive 4; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location /static/ { alias $TMP/hls/; add_header Cache-Control \$hls_cache; }
        location / {
            proxy_pass http://casty;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache hls;
            proxy_cache_revalidate on;
            proxy_cache_lock on;
            add_header X-Cache-Status \$upstream_cache_status;
        }
    }
}
CONF
evidence_log "nginx error log" "$TMP/nginx-error.log"
evidence_log "nginx access log" "$TMP/nginx-access.log"
nginx -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/nginx.out" 2>&1 &
peers_track $!
if wait_until 10 listening "$NGINX_PORT"; then
    EDGE="http://127.0.0.1:$NGINX_PORT"
    if timeout 40 ffmpeg -nostdin -hide_banner -loglevel error -i "$EDGE/static/tone/index.m3u8" -t 8 -f wav -y "$TMP/static.wav" \
        >"$TMP/ffmpeg-static.log" 2>&1; then
        audio_check "(f) ffmpeg through nginx serving --hls-dir" "$TMP/static.wav" 7.5
        # The README's snippet: a playlist that moves every few seconds is cached for one, a segment is audio/mpeg.
        static_segment=$(curl -s "$EDGE/static/tone/index.m3u8" | grep -v '^#' | tail -1)
        check "(f) nginx serves the static playlist with Cache-Control: max-age=1" \
            "(f) the static playlist's head: $(curl -sI "$EDGE/static/tone/index.m3u8" | tr '\r\n' '  ' | head -c 300)" \
            bash -c "curl -sI '$EDGE/static/tone/index.m3u8' | grep -qi '^cache-control: max-age=1'"
        check "(f) nginx serves a static segment as audio/mpeg" "(f) $static_segment: $(curl -sI "$EDGE/static/tone/$static_segment" | grep -i content-type)" \
            bash -c "curl -sI '$EDGE/static/tone/$static_segment' | grep -qi '^content-type: audio/mpeg'"
    else
        fail "(f) ffmpeg could not play $EDGE/static/tone/index.m3u8: $(head -c 300 "$TMP/ffmpeg-static.log")"
    fi
    segment=$(curl -s "$EDGE/tone/index.m3u8" | grep -v '^#' | tail -1)
    curl -s -o /dev/null "$EDGE/tone/$segment"
    curl -s -D "$TMP/cached.h" -o "$TMP/cached.mp3" "$EDGE/tone/$segment"
    if grep -qi '^x-cache-status: HIT' "$TMP/cached.h" && grep -q "/tone/$segment 200 HIT" "$TMP/nginx-access.log" &&
        cmp -s "$TMP/cached.mp3" <(curl -s "$ROOT/tone/$segment"); then
        pass "(f) nginx as a caching reverse proxy served $segment's second request from its cache (access log: HIT), same bytes"
    else
        fail "(f) nginx did not serve $segment from its cache: $(tr '\r\n' '  ' <"$TMP/cached.h" | head -c 300)"
    fi
else
    fail "(f) nginx did not start: $(cat "$TMP/nginx.out" "$TMP/nginx-error.log" 2>/dev/null | head -c 300)"
fi

# --- (b) the 30 s decode, and the AAC mount -------------------------------------------------------------------------
ff_rc=0
wait "$FF_PID" || ff_rc=$?
if [ "$ff_rc" = 0 ] && [ ! -s "$TMP/ffmpeg-hls.log" ]; then
    pass "(b) ffmpeg read the live playlist for 30 s: exit 0, nothing at -loglevel error"
else
    fail "(b) ffmpeg exit status $ff_rc: $(head -c 300 "$TMP/ffmpeg-hls.log")"
fi
audio_check "(b) ffmpeg's 30 s from /tone/index.m3u8" "$TMP/hls.wav" 29.9
if wait_until 30 playlist_ready "$ROOT/aac/index.m3u8"; then
    codec=$(timeout 30 ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$ROOT/aac/index.m3u8" 2>&1 | sed -n 1p)
    mp3codec=$(timeout 30 ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$ROOT/tone/index.m3u8" 2>&1 | sed -n 1p)
    check "(b) ffprobe: /aac's HLS is AAC ($codec), /tone's is MP3 ($mp3codec), the AAC master names mp4a.40.2" \
        "(b) ffprobe: /aac's HLS is '$codec', /tone's '$mp3codec'; AAC master: $(curl -s "$ROOT/aac/master.m3u8" | tr '\n' ' ')" bash -c "[ '$codec' = aac ] && [ '$mp3codec' = mp3 ] && curl -s '$ROOT/aac/master.m3u8' | grep -q 'mp4a.40.2'"
else
    fail "(b) /aac/index.m3u8 did not answer 200 within 30 s"
fi
check "casty-cli root is still running" "casty-cli root died" alive "$SERVER_PID"

# --- (j) a stopped server takes its --hls-dir off the disk: nginx must not serve a playlist that never moves ------
[ -f "$TMP/hls/tone/index.m3u8" ] || fail "(j) $TMP/hls/tone/index.m3u8 was not written"
kill -TERM "$SERVER_PID"
wait_until 10 bash -c "! kill -0 $SERVER_PID 2>/dev/null" || true
left=$(find "$TMP/hls" -name '*.m3u8' | head -5 | tr '\n' ' ')
check "(j) SIGTERM: the root deleted the live playlists of --hls-dir" "(j) after SIGTERM these playlists are left: $left" \
    bash -c "[ -z '$left' ]"
station_end
