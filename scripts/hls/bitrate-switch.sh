#!/usr/bin/env bash
# bitrate-switch.sh — a relay's live HLS across an upstream whose encoder comes back with other settings (a DJ's
# encoder restarted at another bitrate and sample rate). Icecast 2 is the station; ffmpeg publishes /live at
# 128 kbit/s, 48 kHz stereo, then — after a drop — at 64 kbit/s, 22.05 kHz mono, then at 128 kbit/s, 48 kHz
# again; `casty-cli proxy --hls-target 2` relays it. hls.py reloads the proxy's live playlist every second
# through both switches.
#
#   (a) RFC 8216's rules hold on every reload (hls.py rules): EXT-X-TARGETDURATION never changes, no segment
#       lasts over it, sequence numbers never go back or rename, each ID3 timestamp follows the one before;
#   (b) the playlist keeps moving after each switch: its newest segment is at most 3 target durations old at the
#       end (the count of samples once fell behind at the new rate, and HLS froze into one 84 s segment);
#   (c) the longest EXTINF seen is at most the target (2 s) plus a frame.
# Exit 0 only if all passed. About 70 s. Needs icecast2, ffmpeg, python3.
set -euo pipefail
VERDICT_NAME=hls-bitrate-switch
# shellcheck source=scripts/interop/lib.sh
. "$(dirname "$0")/../interop/lib.sh"
interop_begin icecast
HLS_PY="$INTEROP_ROOT/scripts/hls/hls.py"
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

make() {  # make FILE RATE CHANNELS BITRATE — 20 s of a sine, as an encoder at those settings makes it
    ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "sine=frequency=440:sample_rate=$2:duration=20" -ac "$3" \
        -c:a libmp3lame -b:a "$4" -id3v2_version 0 -write_xing 0 -map_metadata -1 -y "$1"
}
make "$TMP/high.mp3" 48000 2 128k
make "$TMP/low.mp3" 22050 1 64k
ICE_PORT=$(free_port)
evidence_log "icecast error.log" "$TMP/icecast/log/error.log"
icecast_start "$ICE_PORT" "$TMP/icecast" || { fail "Icecast did not start"; exit 1; }
publish() {  # publish FILE — ffmpeg sends it to /live in real time, in a loop, as it is
    ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$1" -c copy -content_type audio/mpeg -f mp3 \
        "icecast://source:$ICECAST_SOURCE_PASSWORD@127.0.0.1:$ICE_PORT/live" </dev/null >>"$TMP/source.log" 2>&1 &
    SOURCE=$!
    peers_track "$SOURCE"
}
evidence_log "ffmpeg source" "$TMP/source.log"
publish "$TMP/high.mp3"
wait_until 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:$ICE_PORT/live)\" = 200 ]" \
    || { fail "the source did not go live on Icecast"; exit 1; }
proxy_start "http://127.0.0.1:$ICE_PORT/live" --hls-target 2
playlist_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "${CASTY_URL}index.m3u8")" = 200 ]; }
wait_until 20 playlist_ready || { fail "the live playlist never answered 200"; exit 1; }

python3 "$HLS_PY" rules "${CASTY_URL}index.m3u8" --seconds 55 --tolerance-ms 30 >"$TMP/rules.out" 2>&1 &
RULES=$!
peers_track "$RULES"
( while kill -0 "$RULES" 2>/dev/null; do curl -s --max-time 1 "${CASTY_URL}index.m3u8"; sleep 1; done ) >"$TMP/playlists.txt" 2>/dev/null &
peers_track $!
sleep 12
peers_stop "$SOURCE"; sleep 2; publish "$TMP/low.mp3"
info "upstream back at 64 kbit/s, 22.05 kHz mono"
sleep 18
peers_stop "$SOURCE"; sleep 2; publish "$TMP/high.mp3"
info "upstream back at 128 kbit/s, 48 kHz stereo"
sleep 21
rc=0
wait "$RULES" || rc=$?
check "(a) RFC 8216's rules on every reload across both switches: $(tail -1 "$TMP/rules.out")" test "$rc" = 0
newest=$(curl -s --max-time 2 "${CASTY_URL}index.m3u8" | grep -oE 'PROGRAM-DATE-TIME:[^ ]+' | tail -1 | cut -d: -f2-)
age=$(python3 -c "import sys, datetime; d = datetime.datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00')); print(round((datetime.datetime.now(datetime.timezone.utc) - d).total_seconds(), 1))" "$newest" 2>/dev/null || echo 999)
check "(b) the playlist kept moving: its newest segment began ${age} s ago (at most 3 target durations, 6 s, plus one)" \
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 8 else 1)" "$age"
longest=$(grep -oE 'EXTINF:[0-9.]+' "$TMP/playlists.txt" | cut -d: -f2 | sort -n | tail -1)
targets=$(grep -oE 'TARGETDURATION:[0-9]+' "$TMP/playlists.txt" | sort -u | tr '\n' ' ')
check "(c) the longest segment seen lasts ${longest:-?} s (target 2 s; targets seen: ${targets:-none})" \
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1] or 99) <= 2.1 else 1)" "${longest:-}"
interop_end
