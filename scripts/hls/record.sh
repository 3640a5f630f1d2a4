#!/usr/bin/env bash
# record.sh — a recording of 3 minutes with title changes (issue 14). `casty-cli server` plays the built-in
# station on /tone with a title change every 25 s and records it (--record /tone --record-every 60
# --record-dir), while the platform's application (scripts/control/app.py) takes the events. After 190 s the
# server is stopped with SIGTERM, which finishes the file being written.
#
#   (a) three files of about 60 s each (and the start of the next, finished by SIGTERM): each .m3u8 is a VOD playlist
#       (EXT-X-PLAYLIST-TYPE:VOD … EXT-X-ENDLIST) whose segments all exist;
#   (b) every .mp3 decodes end to end in mpg123 (-t, no error) and ffprobe's duration matches the sidecar's
#       duration_ms and the playlist's EXTINF sum within one frame (26 ms);
#   (c) ffmpeg plays every VOD playlist to the end (exit 0, nothing at -loglevel error), as long as the file;
#   (d) the sidecars hold the title changes (each title once, offsets rising), about 180 s recorded in all;
#   (e) the application got stream-available with x-stream-type HLS-VOD and the playlist in x-index-file for
#       each finished file.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/../station/lib.sh"
STATION_NAME=hls-record
station_begin casty ffprobe mpg123
RECORD_SECONDS=${RECORD_SECONDS:-190}

APP_PORT=$(station_port)
station_log "application" "$TMP/app.out"
python3 "$STATION_DIR/../control/app.py" --port "$APP_PORT" --log "$TMP/app.jsonl" >"$TMP/app.out" 2>&1 &
peers_track $!
wait_until 10 listening "$APP_PORT" || { fail "the application did not start"; exit 1; }

server_start --accept-all --station /tone --title-every 25 --record /tone --record-every 60 --record-dir "$TMP/rec" \
    --event-callback-url "http://127.0.0.1:$APP_PORT/events"
info "recording /tone for $RECORD_SECONDS s"
sleep "$RECORD_SECONDS"
vod_count() { grep -c '"x-stream-type": "HLS-VOD"' "$TMP/app.jsonl" 2>/dev/null || true; }
vod_events() { local n; n=$(vod_count); [ "${n:-0}" -ge 3 ]; }
wait_until 15 vod_events || true
kill -TERM "$SERVER_PID"
wait_until 10 bash -c "! kill -0 $SERVER_PID 2>/dev/null" || true

mapfile -t playlists < <(find "$TMP/rec" -name '*.m3u8' | sort)
info "files: $(for p in "${playlists[@]}"; do basename "$p"; done | tr '\n' ' ')"
if [ "${#playlists[@]}" -ge 3 ]; then
    pass "(a) ${#playlists[@]} recordings in $RECORD_SECONDS s with --record-every 60"
else
    fail "(a) ${#playlists[@]} recordings in $RECORD_SECONDS s with --record-every 60 (want three of 60 s, and what followed)"
fi
total=0
for playlist in "${playlists[@]}"; do
    base=${playlist%.m3u8}
    name=$(basename "$base")
    missing=0
    while read -r segment; do [ -s "$(dirname "$playlist")/$segment" ] || missing=$((missing + 1)); done < <(grep -v '^#' "$playlist")
    check "(a) $name.m3u8 is a VOD playlist whose $(grep -vc '^#' "$playlist") segments exist" \
        "(a) $name.m3u8: $missing missing segments, or no VOD type / EXT-X-ENDLIST: $(head -c 200 "$playlist" | tr '\n' ' ')" \
        bash -c "[ $missing = 0 ] && grep -q '^#EXT-X-PLAYLIST-TYPE:VOD' '$playlist' && tail -1 '$playlist' | grep -q '^#EXT-X-ENDLIST'"
    mpg_rc=0
    mpg123 -t -q "$base.mp3" >"$TMP/$name.mpg123" 2>&1 || mpg_rc=$?
    probe=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$base.mp3")
    sidecar=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["duration_ms"])' "$base.json")
    extinf=$(awk -F'[:,]' '/^#EXTINF:/ { s += $2 } END { printf "%.3f", s }' "$playlist")
    if [ "$mpg_rc" = 0 ] && ! grep -qi error "$TMP/$name.mpg123" &&
        awk -v p="$probe" -v s="$sidecar" -v e="$extinf" 'BEGIN { d1 = p - s / 1000; d2 = p - e; exit !(d1 < 0.027 && d1 > -0.027 && d2 < 0.027 && d2 > -0.027) }'; then
        pass "(b) $name.mp3 decodes in mpg123; $probe s by ffprobe, $sidecar ms in the sidecar, $extinf s of EXTINF"
    else
        fail "(b) $name.mp3: mpg123 status $mpg_rc ($(head -c 200 "$TMP/$name.mpg123")); ffprobe $probe s, sidecar $sidecar ms, EXTINF $extinf s"
    fi
    ff_rc=0
    ffmpeg -nostdin -hide_banner -loglevel error -i "$playlist" -f wav -y "$TMP/$name.wav" >"$TMP/$name.ffmpeg" 2>&1 || ff_rc=$?
    played=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$TMP/$name.wav" 2>/dev/null || echo 0)
    if [ "$ff_rc" = 0 ] && [ ! -s "$TMP/$name.ffmpeg" ] && awk -v a="$played" -v b="$probe" 'BEGIN { exit !(a - b < 0.05 && b - a < 0.05) }'; then
        pass "(c) ffmpeg played $name.m3u8 to the end: $played s"
    else
        fail "(c) ffmpeg on $name.m3u8: status $ff_rc, $played s played of $probe: $(head -c 200 "$TMP/$name.ffmpeg")"
    fi
    total=$(awk -v t="$total" -v p="$probe" 'BEGIN { print t + p }')
done
titles=$(python3 - "$TMP/rec" <<'PY'
import glob, json, sys
seen, rising = [], True
for path in sorted(glob.glob(sys.argv[1] + "/**/*.json", recursive=True)):
    entries = json.load(open(path))["titles"]
    offsets = [entry["offset_ms"] for entry in entries]
    rising = rising and offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    seen += [entry["title"] for entry in entries if not seen or entry["title"] != seen[-1]]
print(len(seen), len(set(seen)) == len(seen) and rising, "|".join(seen))
PY
)
read -r count distinct _ <<<"$titles"
if [ "${count:-0}" -ge 6 ] && [ "$distinct" = True ] && awk -v t="$total" -v r="$RECORD_SECONDS" 'BEGIN { exit !(t > r - 20 && t <= r + 15) }'; then
    pass "(d) $total s recorded in all; the sidecars hold $count titles, each once, offsets rising: ${titles#* * }"
else
    fail "(d) $total s recorded; titles: $titles (want >= 6, each once, offsets rising)"
fi
vod_events=$(vod_count)
vod_events=${vod_events:-0}
if [ "$vod_events" -ge 3 ] && grep '"x-stream-type": "HLS-VOD"' "$TMP/app.jsonl" | grep -q '"x-index-file": "tone/'; then
    pass "(e) the application got $vod_events stream-available events with x-stream-type HLS-VOD and the playlist in x-index-file"
else
    fail "(e) $vod_events HLS-VOD events at the application: $(tail -c 400 "$TMP/app.jsonl" 2>&1) $(tail -c 300 "$TMP/app.out" 2>&1)"
fi
station_end
