#!/usr/bin/env bash
# stall.sh [casty] — a source that stalls and then sends its backlog all at once (--source-catch-up).
#
# ffmpeg publishes a 440 Hz sine to /live in real time (-re); a listener (curl) records /live from the start. The
# ffmpeg process is stopped (SIGSTOP) for 15 s — the stall of an encoder or its network — and let go (SIGCONT):
# ffmpeg's -re clock then sends the 15 s it owes at once, a flood. The server runs with its default catch-up (5 s).
#   (a) one log line says how much came at once and how many frames were dropped: more than 5 s of the backlog;
#   (b) the listener is not flooded: what it got lasts about its time connected less the stall and plus the 5 s
#       allowance — not the whole backlog, which would leave it 15 s behind the source for as long as it listens;
#   (c) the listener hears the source again after the stall, on its connection: its recording goes on past it,
#       and decodes, with no frame broken at the splice (ffmpeg -v error decodes all but its last, cut second
#       without a word).
# Exit 0 only if all passed. About 40 s. Needs ffmpeg, ffprobe, curl. Casty only (Icecast passes the flood on).
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/lib.sh"
station_begin "${1:-casty}" ffprobe
[ "$TARGET" = casty ] || { info "Icecast has no catch-up to check"; station_end; }
STATION_FLOOD_EXPECTED=1

server_start --mounts /live --source-timeout 60
ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i "sine=frequency=440:sample_rate=44100" -c:a libmp3lame -b:a 128k \
    -content_type audio/mpeg -f mp3 "icecast://source:$SRC_PW@127.0.0.1:$PORT/live" </dev/null >"$TMP/ffmpeg.log" 2>&1 &
SOURCE=$!
peers_track "$SOURCE"
evidence_log "ffmpeg source" "$TMP/ffmpeg.log"
live() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/live")" = 200 ]; }
wait_until 15 live || { fail "/live never answered 200"; station_end; }

started=$(date +%s.%N)
curl -s --max-time 38 "$BASE/live" -o "$TMP/heard.mp3" 2>/dev/null &
LISTENER=$!
peers_track "$LISTENER"
sleep 5
kill -STOP "$SOURCE"
info "source stopped (SIGSTOP) for 15 s"
sleep 15
kill -CONT "$SOURCE"
info "source let go (SIGCONT): it sends the 15 s it owes at once"
wait "$LISTENER" || true
connected=$(python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 1))" "$started")

line=$(grep -m1 "came all at once" "$SERVER_LOG" || true)
dropped=$(printf '%s\n' "$line" | grep -oE 'dropped [0-9]+ frames' | grep -oE '[0-9]+' || echo 0)
check "(a) one line tells the flood: ${line:-none}" \
    "(a) no line about audio that came all at once, or too few frames dropped (${dropped:-0})" \
    python3 -c "import sys; sys.exit(0 if int(sys.argv[1]) * 0.026 >= 5 else 1)" "${dropped:-0}"

heard=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$TMP/heard.mp3" 2>/dev/null || echo 0)
check "(b) the listener got ${heard} s of audio in ${connected} s connected (15 s of stall, 5 s allowed to catch up)" \
    "(b) the listener got ${heard} s of audio in ${connected} s connected: flooded with the backlog" \
    python3 -c "import sys; h, c = float(sys.argv[1] or 0), float(sys.argv[2]); sys.exit(0 if c - 15 <= h <= c - 15 + 5 + 3 else 1)" \
    "$heard" "$connected"

# All but the last second: curl's --max-time cut the recording inside a frame.
whole=$(python3 -c "import sys; print(max(0, float(sys.argv[1] or 0) - 1))" "$heard")
errors=$(ffmpeg -nostdin -v error -t "$whole" -i "$TMP/heard.mp3" -f null - 2>&1 | head -3 || true)
check "(c) the listener's recording goes on past the stall and decodes without an error" \
    "(c) the recording lasts ${heard} s, or decoding it said: ${errors:-nothing}" \
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1] or 0) > 12 and not sys.argv[2] else 1)" "$heard" "$errors"
station_end
