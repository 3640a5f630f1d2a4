#!/usr/bin/env bash
# slow-listener.sh [icecast|station] — (f) a listener that stops reading does not delay the others.
#
# Upstream (default icecast): Icecast 2 + ffmpeg source, or `casty-cli station`; in front, `casty-cli proxy`.
# A raw client sends `GET / HTTP/1.0` with `Icy-MetaData: 1` and then never reads (perl, 4 KiB SO_RCVBUF). Alongside
# it, `casty-cli dummy --count 4` (numbered metadata: gaps and lag from CastySeq/CastyTime) and mpg123 play.
# Asserts:
#   - /status.json shows skipped > 0 or dropped > 0 (the stalled listener's segments), time to it printed;
#   - the dummy summary: connected=4/4, gaps=0, every segment of the run received (±15 %),
#     lag_p50_ms ≤ 1000 and lag_max_ms ≤ 2500 (figures printed);
#   - mpg123 decoded audio for the whole run, not silent; the proxy is still running.
# shellcheck disable=SC2317,SC2119  # helpers run through wait_until; upstream_start takes an optional title
set -euo pipefail
# shellcheck source=scripts/interop/lib.sh
. "$(dirname "$0")/lib.sh"
interop_begin "$@"

DUMMIES=4
DUMMY_SECONDS=14
LAG_P50_BOUND_MS=1000
LAG_MAX_BOUND_MS=2500

upstream_start
proxy_start "$UPSTREAM_URL"

# The stalled listener: asks for the stream and metadata, then never reads a byte. Perl (perl-base is on every
# Debian) gives its socket a 4 KiB receive buffer before connecting, so that it fills within a second or
# two instead of the ~8 s that loopback's default window of 128 KiB takes at 16 KB/s. It sleeps 60 s at most.
evidence_log "stalled listener" "$TMP/stalled.log"
perl -MSocket -e '
    my ($port, $secs) = @ARGV;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack("i", 4096)) or die "setsockopt: $!";
    connect($s, pack_sockaddr_in($port, inet_aton("127.0.0.1"))) or die "connect: $!";
    my $req = "GET / HTTP/1.0\r\nHost: 127.0.0.1:$port\r\nUser-Agent: casty-interop-stalled/1\r\nIcy-MetaData: 1\r\n\r\n";
    defined(send($s, $req, 0)) or die "send: $!";
    my ($lport) = sockaddr_in(getsockname($s));
    print "stalled listener on local port $lport, not reading\n";
    $| = 1;
    sleep $secs;
' "$PROXY_PORT" 60 >"$TMP/stalled.log" 2>&1 &
STALL_PID=$!
peers_track "$STALL_PID"
t_stall=$(now_ms)
wait_until 5 log_has "$TMP/stalled.log" 'local port' || { fail "the stalled listener did not connect"; exit 1; }
stall_port=$(grep -oE 'local port [0-9]+' "$TMP/stalled.log" | awk '{ print $3 }')
info "stalled listener connected from 127.0.0.1:$stall_port"

mpg123_start mpg123 "$CASTY_URL"
MPG_PID=$LAST_PID
casty_spawn dummy dummy "$CASTY_URL" --count "$DUMMIES" --duration "$DUMMY_SECONDS"
DUMMY_PID=$LAST_PID
t_dummy=$(now_ms)

_lossy() { [ "$(status_field skipped)" -gt 0 ] 2>/dev/null || [ "$(status_field dropped)" -gt 0 ] 2>/dev/null; }
if wait_until "$DUMMY_SECONDS" _lossy; then
    measure "time from the stalled request to the first skipped/dropped segment" $(($(now_ms) - t_stall)) ms
    pass "/status.json counts the stalled listener: skipped=$(status_field skipped) dropped=$(status_field dropped)"
else
    fail "/status.json shows neither skipped nor dropped segments $DUMMY_SECONDS s after a listener stopped reading"
fi
info "stalled socket: $(ss -Htn "( sport = :$stall_port )" 2>/dev/null | awk '{ print "Recv-Q " $2 " bytes unread" }' | head -1)"

dummy_finish
connected=$(dummy_field connected "$summary")
segments=$(dummy_field segments "$summary")
gaps=$(dummy_field gaps "$summary")
p50=$(dummy_field lag_p50_ms "$summary")
lmax=$(dummy_field lag_max_ms "$summary")
measure "dummy lag next to a stalled listener" "p50 ${p50:-?} / max ${lmax:-?}" "ms (gaps ${gaps:-?}, segments ${segments:-?})"
info "status after: skipped=$(status_field skipped) dropped=$(status_field dropped) listeners=$(status_field listeners)"
if [ "$dummy_rc" = 0 ] && [ "$connected" = "$DUMMIES/$DUMMIES" ] && [ "$gaps" = 0 ]; then
    pass "dummy alongside the stalled listener: connected=$connected, gaps=0"
else
    fail "dummy alongside the stalled listener: exit $dummy_rc, connected=${connected:-?}, gaps=${gaps:-?} (want $DUMMIES/$DUMMIES and 0)"
fi
expected=$((DUMMIES * DUMMY_SECONDS * 128000 / (8192 * 8)))
if [ "${segments:-0}" -ge $((expected * 85 / 100)) ] 2>/dev/null; then
    pass "dummy received $segments segments (about $expected in ${DUMMY_SECONDS} s for $DUMMIES listeners)"
else
    fail "dummy received ${segments:-?} segments, fewer than 85 % of about $expected"
fi
if [ -n "$p50" ] && [ -n "$lmax" ] && ((p50 <= LAG_P50_BOUND_MS && lmax <= LAG_MAX_BOUND_MS)); then
    pass "dummy lag stays low: p50 $p50 ms (≤ $LAG_P50_BOUND_MS), max $lmax ms (≤ $LAG_MAX_BOUND_MS)"
else
    fail "dummy lag p50 ${p50:-?} ms, max ${lmax:-?} ms (bounds $LAG_P50_BOUND_MS / $LAG_MAX_BOUND_MS)"
fi

{ peers_stop "$MPG_PID"; } 2>/dev/null
read -r dur mean max < <(wav_stats "$TMP/mpg123.wav")
measure "mpg123 decoded next to the stalled listener" "$dur" "s (mean $mean dB)"
if float_cmp "$dur" '>=' $((DUMMY_SECONDS * 85 / 100)) && float_cmp "$mean" '>' -50; then
    pass "mpg123 decoded $dur s of non-silent audio next to the stalled listener"
else
    fail "mpg123 decoded $dur s (mean $mean dB), want ≥ $((DUMMY_SECONDS * 85 / 100)) s of sound"
fi
info "casty-cli on the stalled listener: $(grep -E "127\.0\.0\.1:$stall_port " "$TMP/proxy.log" | tr '\n' ' ')"
peers_stop "$STALL_PID"
if alive "$PROXY_PID"; then
    pass "casty-cli proxy is still running"
else
    fail "casty-cli proxy exited"
fi
interop_end
