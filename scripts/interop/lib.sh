# shellcheck shell=bash
# scripts/interop/lib.sh — what the interop scenarios share: the casty-cli binary, the upstream (Icecast 2 fed
# by ffmpeg, or `casty-cli station`), a `casty-cli proxy` in front of it, bounded waits, PASS:/FAIL: lines,
# and the logs printed as evidence when something failed. Everything runs on 127.0.0.1 only.
#
# A scenario script does:
#
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
#     interop_begin "$@"                 # trap + cleanup, tools check, casty-cli located, UPSTREAM=icecast|station
#     upstream_start                     # sets UPSTREAM_URL (and ICE_PORT or STATION_PORT)
#     proxy_start "$UPSTREAM_URL"        # sets PROXY_PORT, CASTY_URL (http://127.0.0.1:PORT/)
#     ... check ... && pass "..." || fail "..."
#     interop_end                        # exit 0 when no check failed, 1 otherwise (evidence printed)
#
# casty-cli comes from $CASTY_CLI when set, else from `swift build --show-bin-path`/casty-cli.
# The verdict (PASS:/FAIL: lines, logs registered with evidence_log LABEL FILE) is scripts/lib/verdict.sh's.

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INTEROP_ROOT=$(cd "$INTEROP_DIR/../.." && pwd)
# shellcheck source=scripts/lib/peers.sh
. "$INTEROP_ROOT/scripts/lib/peers.sh"
# shellcheck source=scripts/lib/common.sh
. "$INTEROP_ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/verdict.sh
. "$INTEROP_ROOT/scripts/lib/verdict.sh"

INTEROP_CASTY=()         # "PID|NAME" of every casty-cli started by casty_start or casty_spawn
UPSTREAM=""
UPSTREAM_URL=""
ICE_PORT=""
ICE_MOUNT=live
STATION_PORT=""
STATION_PID=""
STATION_RUNS=0
STATION_TITLE="Casty Station"
PROXY_PORT=""
PROXY_PID=""
CASTY_URL=""
LAST_PID=""
TMP=""
CLI=""

# verdict_context — for the evidence: the proxy's status page, how each casty-cli started here ended, and the
# TCP connections on the ports in play.
verdict_context() {
    if [ -n "$CASTY_URL" ]; then
        echo "----- $CASTY_URL/status.json -----"
        curl -s --max-time 2 "${CASTY_URL}status.json" 2>&1 || echo "(no answer)"
        echo
    fi
    local entry pid status
    for entry in "${INTEROP_CASTY[@]}"; do
        pid=${entry%%|*}
        if alive "$pid"; then
            echo "----- casty-cli ${entry#*|} (pid $pid): still running -----"
        else
            status=0
            wait "$pid" 2>/dev/null || status=$?
            if [ "$status" -gt 128 ] && [ "$status" != 255 ]; then
                echo "----- casty-cli ${entry#*|} (pid $pid): ended with status $status (signal $((status - 128)): $(kill -l $((status - 128)) 2>/dev/null || echo ?)) -----"
            else
                echo "----- casty-cli ${entry#*|} (pid $pid): ended with status $status -----"
            fi
        fi
    done
    echo "----- TCP connections on 127.0.0.1 (ss -tanp) -----"
    ss -Htanp 2>/dev/null | grep -E "127\.0\.0\.1:(${PROXY_PORT:-x}|${ICE_PORT:-x}|${STATION_PORT:-x})\b" | head -30 || true
}

# verdict_cleanup — at exit: end every process started here.
verdict_cleanup() { peers_cleanup 2>/dev/null; }

# interop_begin [icecast|station] — set up traps and the scratch dir, check the tools, find casty-cli.
interop_begin() {
    UPSTREAM=${1:-icecast}
    case $UPSTREAM in
        icecast | station) ;;
        *) echo "usage: $0 [icecast|station]" >&2; exit 2 ;;
    esac
    VERDICT_TAG="$VERDICT_NAME/$UPSTREAM"
    peers_trap
    verdict_traps
    TMP=$(peers_tmpdir)
    local tool
    for tool in icecast2 ffmpeg mpg123 cvlc streamripper curl ss runuser timeout; do
        command -v "$tool" >/dev/null || { fail "$tool is not installed (run scripts/install-peers.sh)"; exit 1; }
    done
    find_casty_cli "$INTEROP_ROOT"
    info "casty-cli: $CLI; scratch: $TMP"
}

# interop_end — exit with the verdict (the EXIT trap prints it and the evidence).
interop_end() { verdict_end; }


# casty_start NAME ARGS... — run `casty-cli ARGS...` in the background, output to $TMP/NAME.log, and wait
# (15 s at most) for its "listening on" line. Sets LAST_PID.
casty_start() {
    local name=$1 log
    shift
    log="$TMP/$name.log"
    evidence_log "casty-cli $name" "$log"
    "$CLI" "$@" </dev/null >"$log" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
    INTEROP_CASTY+=("$LAST_PID|$name")
    if ! wait_until 15 _casty_listening "$log" "$LAST_PID"; then
        fail "casty-cli $* did not log \"listening on\" within 15 s (or exited)"
        exit 1
    fi
    if ! alive "$LAST_PID"; then
        fail "casty-cli $* exited right after starting"
        exit 1
    fi
}
_casty_listening() { log_has "$1" 'listening on (http://|[^ ]+ \(every interface)' || ! alive "$2"; }

# casty_spawn NAME ARGS... — run `casty-cli ARGS...` in the background (a dummy, say): stdout in $TMP/NAME.out,
# stderr in $TMP/NAME.log. Sets LAST_PID. Does not wait for anything.
casty_spawn() {
    local name=$1
    shift
    evidence_log "casty-cli $name (stderr)" "$TMP/$name.log"
    evidence_log "casty-cli $name (stdout)" "$TMP/$name.out"
    "$CLI" "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.log" &
    LAST_PID=$!
    peers_track "$LAST_PID"
    INTEROP_CASTY+=("$LAST_PID|$name")
}

# upstream_start — start the upstream chosen by interop_begin; sets UPSTREAM_URL.
#   icecast: Icecast 2 on a free port, ffmpeg pushing a 440 Hz MP3 sine to /live, title "Casty Interop One".
#   station: casty-cli station on a free port, title "Casty Station", changing every 3 s ("Casty Station #2", …).
upstream_start() {
    case $UPSTREAM in
        icecast)
            [ -n "$ICE_PORT" ] || ICE_PORT=$(free_port)
            evidence_log "icecast error.log" "$TMP/icecast/log/error.log"
            evidence_log "ffmpeg source" "$TMP/icecast/source-$ICE_MOUNT.log"
            icecast_start "$ICE_PORT" "$TMP/icecast" || { fail "Icecast did not start"; exit 1; }
            source_start "$ICE_PORT" "$ICE_MOUNT" 440 || { fail "the ffmpeg source did not go live"; exit 1; }
            set_title "$ICE_PORT" "$ICE_MOUNT" "${1:-Casty Interop One}" || { fail "set_title failed"; exit 1; }
            UPSTREAM_URL="http://127.0.0.1:$ICE_PORT/$ICE_MOUNT"
            ;;
        station)
            [ -n "$STATION_PORT" ] || STATION_PORT=$(free_port)
            STATION_RUNS=$((STATION_RUNS + 1))
            casty_start "station-$STATION_RUNS" station --port "$STATION_PORT" --host 127.0.0.1 \
                --title "$STATION_TITLE" --title-every 3
            STATION_PID=$LAST_PID
            UPSTREAM_URL="http://127.0.0.1:$STATION_PORT/"
            ;;
    esac
    info "upstream $UPSTREAM at $UPSTREAM_URL"
}

# upstream_stop — kill the upstream (Icecast and its source, or the station process).
upstream_stop() {
    case $UPSTREAM in
        icecast) source_stop; icecast_stop ;;
        station) peers_stop "$STATION_PID"; STATION_PID="" ;;
    esac
}

# proxy_start URL [ARGS...] — casty-cli proxy URL on a free port; waits until /status.json reports segments.
proxy_start() {
    local url=$1
    shift
    PROXY_PORT=$(free_port)
    casty_start proxy proxy "$url" --port "$PROXY_PORT" --host 127.0.0.1 "$@"
    PROXY_PID=$LAST_PID
    CASTY_URL="http://127.0.0.1:$PROXY_PORT/"
    if ! wait_until 10 _proxy_has_segments; then
        fail "casty-cli proxy reports no segments after 10 s ($(status_json))"
        exit 1
    fi
    info "casty-cli proxy at $CASTY_URL (pid $PROXY_PID)"
}
_proxy_has_segments() { [ "$(status_field segments)" -gt 0 ] 2>/dev/null; }

# status_json — print Casty's /status.json (empty when it does not answer within 2 s).
status_json() { curl -s --max-time 2 "${CASTY_URL}status.json" 2>/dev/null || true; }

# status_field NAME [JSON] — the value of "NAME" in /status.json (first occurrence; quotes removed).
status_field() {
    local json=${2-$(status_json)}
    grep -oE "\"$1\"[[:space:]]*:[[:space:]]*(\"[^\"]*\"|[^,}]*)" <<<"$json" | head -1 |
        sed -E 's/^[^:]*:[[:space:]]*//; s/^"//; s/"$//'
}

# stamp_lines — copy stdin to stdout, each line prefixed by the wall clock in ms (CR turned into spaces).
stamp_lines() {
    local line t
    while IFS= read -r line || [ -n "$line" ]; do
        t=${EPOCHREALTIME/./}
        printf '%s %s\n' "$((t / 1000))" "${line//$'\r'/ }"
    done
}

# first_stamp FILE REGEX — the ms stamp of the first line of a stamped FILE matching REGEX (empty if none).
first_stamp() { [ -f "$1" ] && tr -d '\000' <"$1" | grep -E -- "$2" | head -1 | cut -d' ' -f1; }

# mpg123_start NAME URL [ARGS...] — mpg123 -v decoding URL into $TMP/NAME.wav; its stderr, every line
# stamped, in $TMP/NAME.log. Sets LAST_PID (a subshell: peers_stop ends mpg123 inside it).
mpg123_start() {
    local name=$1 url=$2
    shift 2
    evidence_log "mpg123 $name" "$TMP/$name.log"
    # (The subshell's own stderr is dropped: it would report "Terminated" when peers_stop ends the pipe.)
    (mpg123 -v "$@" -w "$TMP/$name.wav" "$url" 2>&1 </dev/null | stamp_lines >"$TMP/$name.log") 2>/dev/null &
    LAST_PID=$!
    peers_track "$LAST_PID"
}


# pid_of_child PARENT NAME — the PID of the process NAME under PARENT (searching two levels down).
pid_of_child() {
    local p c
    for p in $(pgrep -P "$1" 2>/dev/null); do
        if [ "$(ps -o comm= -p "$p")" = "$2" ]; then echo "$p"; return 0; fi
        for c in $(pgrep -P "$p" 2>/dev/null); do
            if [ "$(ps -o comm= -p "$c")" = "$2" ]; then echo "$c"; return 0; fi
        done
    done
    return 1
}

# tcp_of PID PORT — the established TCP connections of PID to 127.0.0.1:PORT, as "local->peer" lines.
tcp_of() {
    ss -Htnp state established "( dport = :$2 )" 2>/dev/null | grep -F "pid=$1," | awk '{ print $3 "->" $4 }' | sort
}

# dummy_field NAME LINE — the value of NAME=… in a "dummy summary:" line (connected=3/3 gives 3/3).
dummy_field() { { grep -oE "(^|[[:space:]])$1=[^[:space:]]+" <<<"$2" || true; } | head -1 | sed -E 's/^[[:space:]]*[^=]*=//'; }

# wav_stats FILE — "DURATION_S MEAN_DB MAX_DB" of an audio file, from ffmpeg's volumedetect.
wav_stats() {
    local out dur mean max
    out=$(timeout 20 ffmpeg -nostdin -hide_banner -i "$1" -af volumedetect -f null - 2>&1) || true
    dur=$(grep -oE 'time=[0-9:.]+' <<<"$out" | tail -1 | cut -d= -f2 |
        awk -F: '{ printf "%.2f", $1 * 3600 + $2 * 60 + $3 }') || true
    mean=$(grep -oE 'mean_volume: -?[0-9.]+' <<<"$out" | awk '{ print $2 }') || true
    max=$(grep -oE 'max_volume: -?[0-9.]+' <<<"$out" | awk '{ print $2 }') || true
    echo "${dur:-0} ${mean:--999} ${max:--999}"
}

# float_cmp A OP B — compare decimals with awk (OP: < <= > >=).
float_cmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }

# dummy_finish — wait (bounded) for the `casty-cli dummy` started at $t_dummy as $DUMMY_PID with --duration
# $DUMMY_SECONDS, then set dummy_rc (its exit status, or "running") and summary (its "dummy summary:" line).
_dummy_done() { ! alive "$DUMMY_PID"; }
# shellcheck disable=SC2154,SC2034  # t_dummy, DUMMY_PID, DUMMY_SECONDS come from, dummy_rc and summary go to, the sourcing script
dummy_finish() {
    if ! wait_until $((DUMMY_SECONDS + 15 - ($(now_ms) - t_dummy) / 1000)) _dummy_done; then
        fail "casty-cli dummy still running $((DUMMY_SECONDS + 15)) s after it started (--duration $DUMMY_SECONDS)"
    fi
    dummy_rc=running
    if ! alive "$DUMMY_PID"; then
        wait "$DUMMY_PID" && dummy_rc=0 || dummy_rc=$?
    fi
    summary=$(grep -m1 'dummy summary:' "$TMP/dummy.out" || true)
    info "$summary"
}
