#!/usr/bin/env bash
# players.sh [icecast|station] — real media players play a station through `casty-cli proxy`.
#
# Upstream (default icecast): Icecast 2 fed by an ffmpeg MP3 source (440 Hz, 128 kbit/s), or `casty-cli
# station` (built-in tone, title changing by itself every 3 s). In front of it one `casty-cli proxy`, and
# against the proxy, all at once:
#   (a) mpg123 -v decodes to a WAV: MPEG audio found, ICY-NAME and ICY-META StreamTitle printed, audio not silent;
#   (b) ffmpeg -icy 1 decodes 4 s to a WAV: exit 0, StreamTitle and icy-name in its metadata, 4.0 s long,
#       not silent (volumedetect);
#   (c) cvlc -vv as user nobody, --run-time 5, dummy audio output: the input opened, the MPEG audio decoder
#       started, VLC saw the Icy-Title, and it exited 0;
#   (d) a title changed at the source reaches mpg123 through Casty. Icecast: set_title, then the time until
#       mpg123 prints it (bound: 4 s). Station: the time each new title reaches mpg123 through Casty minus
#       the time it reaches an mpg123 attached to the station directly (bound: 2 s);
#   and streamripper (-l 8) writes an MP3 named after the title; the reply headers (HTTP/1.0 200 OK,
#   icy-metaint: 8192 only with Icy-MetaData: 1) and /status.json (listeners, title) are right.
# shellcheck disable=SC2317,SC2119  # helpers run through wait_until; upstream_start takes an optional title
set -euo pipefail
# shellcheck source=scripts/interop/lib.sh
. "$(dirname "$0")/lib.sh"
interop_begin "$@"

TITLE_BOUND_MS_ICECAST=4000
TITLE_BOUND_MS_STATION=2000

upstream_start
proxy_start "$UPSTREAM_URL"
if [ "$UPSTREAM" = icecast ]; then
    TITLE1="Casty Interop One"
    NAME="Casty test tone 440 Hz"
else
    TITLE1="$STATION_TITLE"
    NAME=""
fi

# --- Reply headers, with and without Icy-MetaData: 1 ------------------------------------------------------
curl -s -0 -D "$TMP/headers-meta.txt" -o /dev/null --max-time 1 -H 'Icy-MetaData: 1' "$CASTY_URL" || true
curl -s -0 -D "$TMP/headers-plain.txt" -o /dev/null --max-time 1 "$CASTY_URL" || true
evidence_log "reply headers with Icy-MetaData: 1" "$TMP/headers-meta.txt"
evidence_log "reply headers without Icy-MetaData" "$TMP/headers-plain.txt"
if head -1 "$TMP/headers-meta.txt" | grep -q '^HTTP/1.0 200 OK' &&
    grep -qiE '^icy-metaint: ?8192' "$TMP/headers-meta.txt" &&
    ! grep -qi '^icy-metaint' "$TMP/headers-plain.txt" &&
    grep -qi '^icy-name' "$TMP/headers-plain.txt"; then
    pass "reply: HTTP/1.0 200 OK with station headers; icy-metaint: 8192 only when Icy-MetaData: 1 was sent"
else
    fail "reply headers not as expected (HTTP/1.0 200 OK, icy-name, icy-metaint: 8192 only with Icy-MetaData: 1)"
fi

# --- Start every player at once ----------------------------------------------------------------------------
mpg123_start mpg123 "$CASTY_URL"
MPG_PID=$LAST_PID
if [ "$UPSTREAM" = station ]; then
    mpg123_start mpg123-direct "$UPSTREAM_URL"
    DIRECT_PID=$LAST_PID
else
    DIRECT_PID=""
fi

evidence_log "ffmpeg" "$TMP/ffmpeg.log"
(
    rc=0
    timeout 25 ffmpeg -nostdin -hide_banner -icy 1 -i "$CASTY_URL" -t 4 -y "$TMP/ffmpeg.wav" \
        >"$TMP/ffmpeg.log" 2>&1 || rc=$?
    echo "$rc" >"$TMP/ffmpeg.rc"
) &
FF_PID=$!
peers_track "$FF_PID"

evidence_log "cvlc" "$TMP/vlc.log"
(
    rc=0
    as_unprivileged timeout 30 cvlc -vv --play-and-exit --run-time 5 --aout=dummy --no-video \
        "$CASTY_URL" >"$TMP/vlc.log" 2>&1 || rc=$?
    echo "$rc" >"$TMP/vlc.rc"
) &
VLC_PID=$!
peers_track "$VLC_PID"

mkdir -p "$TMP/rip"
evidence_log "streamripper" "$TMP/streamripper.log"
(
    rc=0
    timeout 30 streamripper "$CASTY_URL" -l 8 --xs-none -d "$TMP/rip" >"$TMP/streamripper.log" 2>&1 \
        </dev/null || rc=$?
    echo "$rc" >"$TMP/streamripper.rc"
) &
SR_PID=$!
peers_track "$SR_PID"

# mpg123, ffmpeg, cvlc and streamripper overlap for a few seconds (ffmpeg needs about 2 s, cvlc 5 s).
_listeners_at_least() { [ "$(status_field listeners)" -ge "$1" ] 2>/dev/null; }
if wait_until 8 _listeners_at_least 4; then
    pass "/status.json counts the players: $(status_field listeners) listeners"
else
    fail "/status.json shows $(status_field listeners) listeners (peak $(status_field listener_peak)) while mpg123, ffmpeg, cvlc and streamripper play"
fi

# --- (d) title changes -------------------------------------------------------------------------------------
if ! wait_until 10 log_has "$TMP/mpg123.log" "ICY-META: StreamTitle='$TITLE1"; then
    fail "(a) mpg123 printed no ICY-META StreamTitle='$TITLE1…' within 10 s"
fi
if [ "$UPSTREAM" = icecast ]; then
    sleep 1
    TITLE2="Casty Interop Two"
    t0=$(now_ms)
    set_title "$ICE_PORT" "$ICE_MOUNT" "$TITLE2"
    if wait_until 10 log_has "$TMP/mpg123.log" "ICY-META: StreamTitle='$TITLE2';"; then
        t1=$(first_stamp "$TMP/mpg123.log" "ICY-META: StreamTitle='$TITLE2';")
        latency=$((t1 - t0))
        measure "title latency (Icecast admin/metadata -> mpg123 through Casty)" "$latency" ms
        if ((latency <= TITLE_BOUND_MS_ICECAST)); then
            pass "(d) new title reached mpg123 through Casty in $latency ms (bound $TITLE_BOUND_MS_ICECAST ms)"
        else
            fail "(d) new title reached mpg123 through Casty in $latency ms, over the bound of $TITLE_BOUND_MS_ICECAST ms"
        fi
    else
        fail "(d) mpg123 did not print the new title '$TITLE2' within 10 s of set_title"
    fi
    if [ "$(status_field title)" = "$TITLE2" ]; then
        pass "/status.json shows the new title"
    else
        fail "/status.json title is '$(status_field title)', expected '$TITLE2'"
    fi
    LAST_TITLE=$TITLE2
else
    # Titles after the first one each listener printed (the first may come from a burst of older audio).
    _new_titles() {
        tr -d '\000' <"$1" | grep -oE "ICY-META: StreamTitle='[^']*'" | uniq | tail -n +2 | sed -E "s/.*StreamTitle='//; s/'$//"
    }
    _two_changes() { [ "$(_new_titles "$TMP/mpg123.log" | wc -l)" -ge 2 ]; }
    if wait_until 12 _two_changes; then
        pass "(d) mpg123 through Casty saw the station's title change twice: $(_new_titles "$TMP/mpg123.log" | paste -sd'|')"
    else
        fail "(d) mpg123 through Casty did not see two title changes within 12 s (station changes every 3 s)"
    fi
    sleep 0.5   # let the direct listener print the same titles
    worst=""
    while IFS= read -r title; do
        [ -n "$title" ] || continue
        tc=$(first_stamp "$TMP/mpg123.log" "StreamTitle='$title';")
        td=$(first_stamp "$TMP/mpg123-direct.log" "StreamTitle='$title';")
        if [ -z "$td" ]; then
            info "title '$title' seen through Casty but not (yet) by the direct listener"
            continue
        fi
        d=$((tc - td))
        measure "title latency added by Casty for '$title' (through Casty minus direct from the station)" "$d" ms
        if [ -z "$worst" ] || ((d > worst)); then worst=$d; fi
    done < <(_new_titles "$TMP/mpg123.log")
    if [ -z "$worst" ]; then
        fail "(d) no new title seen both through Casty and directly from the station, nothing to compare"
    elif ((worst <= TITLE_BOUND_MS_STATION)); then
        pass "(d) titles reach mpg123 through Casty at most $worst ms after a direct listener (bound $TITLE_BOUND_MS_STATION ms)"
    else
        fail "(d) titles reach mpg123 through Casty up to $worst ms after a direct listener (bound $TITLE_BOUND_MS_STATION ms)"
    fi
    LAST_TITLE=$(_new_titles "$TMP/mpg123.log" | tail -1)
fi

# --- (a) mpg123 ----------------------------------------------------------------------------------------------
sleep 1
{ peers_stop "$MPG_PID" ${DIRECT_PID:-}; } 2>/dev/null   # (no "Terminated" job notices)
read -r dur mean max < <(wav_stats "$TMP/mpg123.wav")
measure "mpg123 decoded audio" "$dur" "s (mean $mean dB, max $max dB)"
mpg123_reported() {
    log_has "$TMP/mpg123.log" 'MPEG [0-9.]+ L III' &&
        log_has "$TMP/mpg123.log" "ICY-NAME: ${NAME:-.+}" &&
        log_has "$TMP/mpg123.log" "ICY-META: StreamTitle='$TITLE1"
}
# The log is written through a timestamping pipe that may still be flushing after mpg123 stopped.
if wait_until 3 mpg123_reported; then
    pass "(a) mpg123 found MPEG 1 Layer III, printed ICY-NAME and ICY-META StreamTitle='$TITLE1…'"
else
    fail "(a) mpg123 log lacks the MPEG L III line, ICY-NAME ${NAME:-(any)} or ICY-META StreamTitle='$TITLE1…'"
fi
if float_cmp "$dur" '>=' 3 && float_cmp "$mean" '>' -50; then
    pass "(a) mpg123 decoded $dur s of audio, not silent (mean $mean dB)"
else
    fail "(a) mpg123 decoded $dur s of audio with mean $mean dB (want >= 3 s, > -50 dB)"
fi

# --- (b) ffmpeg ---------------------------------------------------------------------------------------------
wait_until 25 test -s "$TMP/ffmpeg.rc" || true
ff_rc=$(cat "$TMP/ffmpeg.rc" 2>/dev/null || echo none)
read -r dur mean max < <(wav_stats "$TMP/ffmpeg.wav")
measure "ffmpeg decoded audio" "$dur" "s (mean $mean dB, max $max dB)"
# ffmpeg prints the title current when it has probed the stream: the first one or the one after (d).
if [ "$ff_rc" = 0 ] && log_has "$TMP/ffmpeg.log" "StreamTitle +: ($TITLE1|$LAST_TITLE)" &&
    log_has "$TMP/ffmpeg.log" "icy-name +: ${NAME:-.+}"; then
    pass "(b) ffmpeg -icy 1 exited 0 and reported $(grep -m1 -oE 'StreamTitle +: .*' "$TMP/ffmpeg.log" | tr -s ' ') and icy-name"
else
    fail "(b) ffmpeg exit status $ff_rc; StreamTitle '$TITLE1…' or icy-name missing from its metadata"
fi
if float_cmp "$dur" '>=' 3.9 && float_cmp "$dur" '<=' 4.1 && float_cmp "$mean" '>' -50; then
    pass "(b) ffmpeg's WAV holds $dur s of non-silent audio (mean $mean dB, max $max dB)"
else
    fail "(b) ffmpeg's WAV holds $dur s, mean $mean dB (want 4.0 ± 0.1 s, > -50 dB)"
fi

# --- (c) VLC ------------------------------------------------------------------------------------------------
wait_until 30 test -s "$TMP/vlc.rc" || true
vlc_rc=$(cat "$TMP/vlc.rc" 2>/dev/null || echo none)
if [ "$vlc_rc" = 0 ] && log_has "$TMP/vlc.log" 'successfully opened' &&
    log_has "$TMP/vlc.log" 'using audio decoder module "(mpg123|mpga|mad|avcodec)"' &&
    log_has "$TMP/vlc.log" 'MPGA channels:2 samplerate:44100'; then
    pass "(c) cvlc (as nobody) opened the stream, started the MPEG audio decoder, played 5 s and exited 0"
else
    fail "(c) cvlc exit status $vlc_rc, or its log lacks 'successfully opened' / the audio decoder / MPGA channels"
fi
# VLC asks twice: its HTTP/1.1 module first (no Icy-MetaData), then, on the HTTP/1.0 reply, the icyx access
# with Icy-MetaData: 1. casty-cli logs a line per join, with the user agent and whether titles were asked for.
vlc_joins=$(grep -cE 'joined: .*VLC/' "$TMP/proxy.log" || true)
if [ "$vlc_joins" -ge 1 ] && log_has "$TMP/proxy.log" 'joined: .*VLC/.*with titles'; then
    pass "(c) casty-cli logged VLC's $vlc_joins connection(s), one of them with titles"
else
    fail "(c) casty-cli's log shows $vlc_joins VLC join(s), none 'with titles'"
fi
if log_has "$TMP/vlc.log" "New Icy-Title=$TITLE1"; then
    pass "(c) cvlc read the title: $(tr -d '\000' <"$TMP/vlc.log" | grep -oE 'New Icy-Title=.*' | head -1)"
else
    fail "(c) cvlc's log has no 'New Icy-Title=$TITLE1…'"
fi

# --- streamripper ------------------------------------------------------------------------------------------
wait_until 30 test -s "$TMP/streamripper.rc" || true
sr_rc=$(cat "$TMP/streamripper.rc" 2>/dev/null || echo none)
find "$TMP/rip" -type f >"$TMP/rip.txt" 2>/dev/null || true
evidence_log "files streamripper wrote" "$TMP/rip.txt"
ripped=$(find "$TMP/rip" -type f -name "*${TITLE1}*.mp3" -size +1k 2>/dev/null | head -1)
if [ "$sr_rc" = 0 ] && [ -n "$ripped" ]; then
    pass "streamripper exited 0 and wrote ${ripped#"$TMP"/rip/} ($(file_size "$ripped") bytes)"
else
    fail "streamripper exit status $sr_rc; no MP3 named after '$TITLE1…' in $TMP/rip"
fi

if alive "$PROXY_PID"; then
    pass "casty-cli proxy is still running"
else
    fail "casty-cli proxy exited"
fi
interop_end
