#!/usr/bin/env bash
# liquidsoap.sh [casty|icecast] — liquidsoap (Debian's 2.1.3) publishes with output.icecast, twice:
#   method="put"    → `PUT /liq-put HTTP/1.0` with Expect: 100-continue, ice-name, ice-genre, ice-audio-info;
#   method="source" → legacy `SOURCE /liq-source HTTP/1.0`.
# For each: (a) the mount answers 200 within 15 s (liquidsoap takes a few seconds to start); (b) the reply carries
# icy-name/icy-genre from output.icecast's name/genre; (c) mpg123 decodes 3 s of it, not silent, at the sine's
# frequency (550 Hz for put, 770 Hz for source). Liquidsoap refuses to run as root unless told
# (settings.init.allow_root), which the script does.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/lib.sh"
station_begin "${1:-casty}" liquidsoap mpg123

server_start --accept-all

cat >"$TMP/publish.liq" <<LIQ
settings.init.allow_root.set(true)
settings.log.stdout.set(true)
settings.log.file.set(false)
settings.log.level.set(3)
output.icecast(%mp3(bitrate=128, samplerate=44100, stereo=true), host="127.0.0.1", port=$PORT,
  password="$SRC_PW", mount="/liq-put", method="put", name="Casty liquidsoap put", genre="Liq Genre",
  description="liquidsoap PUT", sine(550.))
output.icecast(%mp3(bitrate=128, samplerate=44100, stereo=true), host="127.0.0.1", port=$PORT,
  password="$SRC_PW", mount="/liq-source", method="source", name="Casty liquidsoap source", genre="Liq Genre",
  description="liquidsoap SOURCE", sine(770.))
LIQ
evidence_log "liquidsoap" "$TMP/liquidsoap.log"
liquidsoap "$TMP/publish.liq" </dev/null >"$TMP/liquidsoap.log" 2>&1 &
LIQ_PID=$!
peers_track "$LIQ_PID"

hdr() { tr -d '\r' <"$1" | grep -i "^$2:" | head -1 | sed -E 's/^[^:]*:[[:space:]]*//'; }

for run in put:550 source:770; do
    method=${run%%:*}
    freq=${run#*:}
    mount=/liq-$method
    if wait_live "$mount" 15; then
        pass "(a) liquidsoap method=\"$method\" published $mount: it answers 200"
    else
        fail "(a) $mount does not answer 200 within 15 s (liquidsoap $(alive "$LIQ_PID" && echo running || echo exited))"
        continue
    fi
    curl -s -0 -D "$TMP/headers-$method.txt" -o /dev/null --max-time 1 "$BASE$mount" || true
    evidence_log "reply headers $mount" "$TMP/headers-$method.txt"
    check "(b) $mount: icy-name and icy-genre from output.icecast's name and genre" \
        "(b) $mount: icy-name '$(hdr "$TMP/headers-$method.txt" icy-name)', icy-genre '$(hdr "$TMP/headers-$method.txt" icy-genre)'" \
        test "$(hdr "$TMP/headers-$method.txt" icy-name)|$(hdr "$TMP/headers-$method.txt" icy-genre)" = "Casty liquidsoap $method|Liq Genre"
    evidence_log "mpg123 $mount" "$TMP/mpg123-$method.log"
    timeout 15 mpg123 -n 115 -w "$TMP/$method.wav" "$BASE$mount" >"$TMP/mpg123-$method.log" 2>&1 || true
    audio_check "(c) mpg123 on $mount" "$TMP/$method.wav" 2.5 "$freq"
done

station_end
