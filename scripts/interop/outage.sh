#!/usr/bin/env bash
# outage.sh [icecast|station] — (e) the upstream dies and comes back; Casty's listeners stay connected.
#
# Upstream (default icecast): Icecast 2 + ffmpeg source, or `casty-cli station`. In front, `casty-cli proxy`;
# on it mpg123 (decoding to a WAV) and `casty-cli dummy --count 3`. After a few seconds of play the upstream
# is killed (Icecast and its ffmpeg source / the station process), and started again on the same port ~3 s
# later. Asserts:
#   - during the outage mpg123 and the dummy are still running and mpg123's TCP connection to Casty is up;
#   - after the restart audio resumes: mpg123's WAV grows by more than 1 s of audio (time to resume printed);
#     for Icecast the title set after the restart reaches mpg123;
#   - mpg123 kept the very same TCP connection (same local port) from before the outage to after it;
#   - the dummy summary: connected=3/3 (nobody was disconnected), segments received after the restart;
#     the outage shows as gaps (gaps ≥ 1: the segment numbers jump), not as a disconnect;
#   - /status.json says upstream "streaming" again.
# shellcheck disable=SC2317,SC2119  # helpers run through wait_until; upstream_start takes an optional title
set -euo pipefail
# shellcheck source=scripts/interop/lib.sh
. "$(dirname "$0")/lib.sh"
interop_begin "$@"

DUMMIES=3
DUMMY_SECONDS=18
OUTAGE_SECONDS=3
PCM_PER_SECOND=176400   # 44.1 kHz, 16-bit, stereo

upstream_start
proxy_start "$UPSTREAM_URL"

mpg123_start mpg123 "$CASTY_URL"
MPG_PID=$LAST_PID
casty_spawn dummy dummy "$CASTY_URL" --count "$DUMMIES" --duration "$DUMMY_SECONDS"
DUMMY_PID=$LAST_PID
t_dummy=$(now_ms)

_wav_over() { [ "$(file_size "$TMP/mpg123.wav")" -gt "$1" ]; }
if ! wait_until 10 _wav_over $((PCM_PER_SECOND / 2)); then
    fail "mpg123 decoded nothing through Casty within 10 s"
    exit 1
fi
sleep 2
mpg_pid=$(pid_of_child "$MPG_PID" mpg123 || true)
conn_before=$(tcp_of "${mpg_pid:-none}" "$PROXY_PORT")
info "mpg123 (pid ${mpg_pid:-?}) connection before the outage: ${conn_before:-none}"
info "status before the outage: upstream=$(status_field upstream) segments=$(status_field segments)"

# --- The outage -------------------------------------------------------------------------------------------
size_kill=$(file_size "$TMP/mpg123.wav")
upstream_stop
t_kill=$(now_ms)
info "upstream killed"
sleep "$OUTAGE_SECONDS"
size_down=$(file_size "$TMP/mpg123.wav")
info "status during the outage: upstream=$(status_field upstream) segments=$(status_field segments) missing=$(status_field missing) gaps=$(status_field gaps)"
info "mpg123 decoded $(awk -v b=$((size_down - size_kill)) -v r=$PCM_PER_SECOND 'BEGIN { printf "%.2f", b / r }') s more audio during the outage (what it had received before)"
conn_down=$(tcp_of "${mpg_pid:-none}" "$PROXY_PORT")
if [ -n "$mpg_pid" ] && alive "$mpg_pid" && [ -n "$conn_down" ] && alive "$DUMMY_PID"; then
    pass "during the outage mpg123 and the dummy keep running, mpg123 still connected ($conn_down)"
else
    fail "during the outage: mpg123 ${mpg_pid:-?} alive? $(alive "${mpg_pid:-0}" && echo yes || echo no), connection '${conn_down}', dummy alive? $(alive "$DUMMY_PID" && echo yes || echo no)"
fi

# --- The restart ------------------------------------------------------------------------------------------
if [ "$UPSTREAM" = icecast ]; then
    upstream_start "Casty Interop After Restart"
else
    upstream_start
fi
t_restart=$(now_ms)
measure "upstream down for" $((t_restart - t_kill)) ms
size_restart=$(file_size "$TMP/mpg123.wav")
if wait_until 12 _wav_over $((size_restart + PCM_PER_SECOND)); then
    resume=$(($(now_ms) - t_restart))
    measure "time from the upstream's restart to 1 s more audio decoded by mpg123" "$resume" ms
    pass "audio resumed through Casty after the restart (1 s more audio in $resume ms)"
else
    fail "mpg123's WAV grew by only $(($(file_size "$TMP/mpg123.wav") - size_restart)) bytes in the 12 s after the restart"
fi
if [ "$UPSTREAM" = icecast ]; then
    if wait_until 8 log_has "$TMP/mpg123.log" "ICY-META: StreamTitle='Casty Interop After Restart';"; then
        pass "the title set after the restart reached mpg123"
    else
        fail "the title set after the restart did not reach mpg123 within 8 s"
    fi
fi
conn_after=$(tcp_of "${mpg_pid:-none}" "$PROXY_PORT")
if [ -n "$conn_before" ] && [ "$conn_before" = "$conn_after" ] && alive "$mpg_pid"; then
    pass "mpg123 kept the same TCP connection to Casty across the outage ($conn_after)"
else
    fail "mpg123's connection changed or vanished: before '$conn_before', after '$conn_after'"
fi
if wait_until 10 test "$(status_field upstream)" = streaming; then
    pass "/status.json: upstream streaming again"
else
    fail "/status.json: upstream is '$(status_field upstream)', not streaming, 10 s after the restart"
fi

# --- The dummy's summary ----------------------------------------------------------------------------------
dummy_finish
connected=$(dummy_field connected "$summary")
segments=$(dummy_field segments "$summary")
gaps=$(dummy_field gaps "$summary")
measure "dummy gaps across the outage" "${gaps:-?}" "(status.json: gaps=$(status_field gaps) missing=$(status_field missing))"
if [ "$dummy_rc" = 0 ] && [ "$connected" = "$DUMMIES/$DUMMIES" ]; then
    pass "dummy: connected=$connected — no listener was disconnected by the outage"
else
    fail "dummy: exit status $dummy_rc, connected=${connected:-?} (want $DUMMIES/$DUMMIES)"
fi
# Casty counts the segments the outage cost as a gap (each listener sees the next number jump), not a hang-up.
if [ "${gaps:-0}" -ge 1 ] 2>/dev/null; then
    pass "dummy: the outage shows as gaps=$gaps ($(dummy_field missing "$summary") segments missing), not as a disconnect"
else
    fail "dummy: gaps=${gaps:-?} — the ${OUTAGE_SECONDS} s outage left no gap in the numbering"
fi
# Segments last 8192 × 8 / 128000 s; the dummies heard at least the time the upstream was up (less 20 %).
up_ms=$((DUMMY_SECONDS * 1000 - (t_restart - t_kill)))
min_segments=$((DUMMIES * up_ms * 128000 * 8 / (8192 * 8 * 1000 * 10)))
if [ "${segments:-0}" -ge "$min_segments" ] 2>/dev/null; then
    pass "dummy: $segments segments over ${DUMMY_SECONDS} s with the outage (at least $min_segments expected)"
else
    fail "dummy: ${segments:-?} segments, fewer than $min_segments"
fi
{ peers_stop "$MPG_PID"; } 2>/dev/null
interop_end
