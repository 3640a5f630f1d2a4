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
#       each finished file;
#   (f) two shows of 20.7 s pushed one after the other by ffmpeg to /show (--record /show), a source that
#       reconnects, are recorded to their ends: once each source has ended, and before the server stops, its
#       file is finished and ffprobe finds it as long as the MP3 sent within 0.6 s (the relay keeps back what does
#       not fill a relay segment of 8192 bytes, 0.5 s; before the recording wrote its last frames, up to a whole
#       HLS segment, 6 s, was missing);
#   (g) while the second show plays, /show/index.m3u8 lists the first show's segments, EXT-X-DISCONTINUITY, then
#       the second's (another stream's names), passing RFC 8216's rules (hls.py).
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/../station/lib.sh"
VERDICT_NAME=hls-record
station_begin casty ffprobe mpg123
RECORD_SECONDS=${RECORD_SECONDS:-190}

APP_PORT=$(station_port)
evidence_log "application" "$TMP/app.out"
python3 "$STATION_DIR/../control/app.py" --port "$APP_PORT" --log "$TMP/app.jsonl" >"$TMP/app.out" 2>&1 &
peers_track $!
wait_until 10 listening "$APP_PORT" || { fail "the application did not start"; exit 1; }

server_start --accept-all --station /tone --title-every 25 --record /tone --record /show --record-every 60 --record-dir "$TMP/rec" \
    --event-callback-url "http://127.0.0.1:$APP_PORT/events"
make_mp3 "$TMP/show.mp3" 660 20.7
# show N — ffmpeg pushes the show to /show in real time, the Nth time (log in $TMP/showN.log).
show() {
    ffmpeg -nostdin -hide_banner -loglevel warning -re -i "$TMP/show.mp3" -c copy -id3v2_version 0 -write_xing 0 \
        -content_type audio/mpeg -f mp3 "icecast://source:$SRC_PW@127.0.0.1:$PORT/show" </dev/null >"$TMP/show$1.log" 2>&1
}
evidence_log "ffmpeg show 1" "$TMP/show1.log"
evidence_log "ffmpeg show 2" "$TMP/show2.log"
info "recording /tone for $RECORD_SECONDS s, and two shows of 20.7 s on /show"
show 1 || fail "(f) ffmpeg could not push the first show: $(tail -c 300 "$TMP/show1.log")"
show 2 &
peers_track $!
sleep 13
show_rules=$(python3 "$STATION_DIR/../hls/hls.py" rules "$BASE/show/index.m3u8" --seconds 3 --tolerance-ms 30 2>&1 || true)
curl -s "$BASE/show/index.m3u8" >"$TMP/show-live.m3u8" || true
sleep $((RECORD_SECONDS - 37))

# (f) before the server stops: both shows' sources ended long ago, so their recordings are finished, to the end.
sent=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$TMP/show.mp3")
mapfile -t shows < <(find "$TMP/rec/show" -name '*.m3u8' 2>/dev/null | sort)
[ "${#shows[@]}" = 2 ] || fail "(f) ${#shows[@]} recordings of /show (want one for each of its two sources): ${shows[*]}"
for show_playlist in "${shows[@]}"; do
    if tail -1 "$show_playlist" | grep -q '^#EXT-X-ENDLIST'; then
        recorded=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "${show_playlist%.m3u8}.mp3")
        if awk -v r="$recorded" -v s="$sent" 'BEGIN { exit !(s - r < 0.6 && r - s < 0.6) }'; then
            pass "(f) $(basename "$show_playlist") was finished when its source ended: $recorded s recorded of $sent s sent"
        else
            fail "(f) $(basename "$show_playlist") holds $recorded s of the $sent s sent (want within 0.6 s)"
        fi
    else
        fail "(f) $show_playlist was not finished when its source ended: $(tail -c 200 "$show_playlist" | tr '\n' ' ')"
    fi
done

# (g) the live playlist across the source's reconnection.
prefixes=$(grep -v '^#' "$TMP/show-live.m3u8" | cut -d- -f1 | uniq | wc -l)
after=$(grep -A3 '^#EXT-X-DISCONTINUITY$' "$TMP/show-live.m3u8" | grep -v '^#' | head -1 | cut -d- -f1)
if [ "$prefixes" = 2 ] && [[ $show_rules == OK* ]] && [ -n "$after" ] && [ "$after" = "$(grep -v '^#' "$TMP/show-live.m3u8" | tail -1 | cut -d- -f1)" ]; then
    pass "(g) /show/index.m3u8 marks the source's return with EXT-X-DISCONTINUITY, the new stream's segments after it ($after-…); $show_rules"
else
    fail "(g) /show/index.m3u8 while the second show played: $show_rules; $(tr '\n' ' ' <"$TMP/show-live.m3u8" | head -c 600)"
fi
vod_count() { grep -c '"x-stream-type": "HLS-VOD"' "$TMP/app.jsonl" 2>/dev/null || true; }
vod_events() { local n; n=$(vod_count); [ "${n:-0}" -ge 3 ]; }
wait_until 15 vod_events || true
kill -TERM "$SERVER_PID"
wait_until 10 bash -c "! kill -0 $SERVER_PID 2>/dev/null" || true

mapfile -t playlists < <(find "$TMP/rec/tone" -name '*.m3u8' | sort)
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
for path in sorted(glob.glob(sys.argv[1] + "/tone/**/*.json", recursive=True)):
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
