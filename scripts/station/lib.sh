# shellcheck shell=bash
# scripts/station/lib.sh — what the "Casty as the station" scripts share (issue 11: sources publish to a Casty
# node). Each script runs its checks against one server under test, given as its first argument:
#
#   casty    `casty-cli server --port P --host 127.0.0.1 --source-password PW --admin-password APW …`
#            ($CASTY_CLI, else the one `swift build` made)
#   icecast  Icecast 2 (Debian's icecast2) with an icecast.xml written here, as close as Icecast allows to the
#            same options: --fallback /a=/b becomes <fallback-mount> + <fallback-override>, --source-timeout
#            becomes <source-timeout>, --station /m becomes an ffmpeg sine source on /m, --mounts has no
#            Icecast equivalent (Icecast takes any mount), and /status.json is an alias of status-json.xsl.
#
# A script does:
#
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
#     station_begin "$@"                         # TARGET=casty|icecast, traps, tools, scratch dir $TMP
#     server_start --accept-all --source-timeout 3   # Casty's options; sets PORT and BASE (http://127.0.0.1:PORT)
#     ... check ... && pass "..." || fail "..."
#     casty_only "why" || ...                    # for a check only Casty has
#     station_end                                # exit 0 when no check failed, 1 otherwise (evidence printed)
#
# Output: scripts/lib/verdict.sh's PASS:/FAIL:/INFO:/MEASURE: lines; on failure the tail of every log registered
# with evidence_log.
# Ports: a free one in 18800–18899 (this family's range). Passwords: SRC_PW and ADMIN_PW, distinctive so that
# a script can check they never reach Casty's log. Everything listens on and connects to 127.0.0.1 only.

STATION_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATION_ROOT=$(cd "$STATION_DIR/../.." && pwd)
ICY_PY="$STATION_DIR/icy.py"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ next to icy.py

SRC_PW=${SRC_PW:-SrcPw-7Kq2x}
ADMIN_PW=${ADMIN_PW:-AdmPw-Z3m9v}
export ICECAST_SOURCE_PASSWORD=$SRC_PW
export ICECAST_ADMIN_USER=admin
export ICECAST_ADMIN_PASSWORD=$ADMIN_PW
# shellcheck source=scripts/lib/peers.sh
. "$STATION_ROOT/scripts/lib/peers.sh"
# shellcheck source=scripts/lib/common.sh
. "$STATION_ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/verdict.sh
. "$STATION_ROOT/scripts/lib/verdict.sh"

TARGET=""
TMP=""
CLI=""
PORT=""
BASE=""
SERVER_PID=""
SERVER_LOG=""
LAST_PID=""

# check OK-MESSAGE FAIL-MESSAGE CMD... — pass when CMD succeeds, else fail.
check() {
    local ok=$1 bad=$2
    shift 2
    if "$@"; then pass "$ok"; else fail "$bad"; fi
}
# casty_only WHAT — for a check Icecast does not have: prints an INFO line and returns 1 against icecast.
casty_only() {
    [ "$TARGET" = casty ] && return 0
    info "casty-only check skipped against icecast: $*"
    return 1
}

# verdict_context — for the evidence: the server's status page, and whether it still runs.
verdict_context() {
    if [ -n "$BASE" ]; then
        echo "----- $BASE/status.json -----"
        curl -s --max-time 2 "$BASE/status.json" 2>&1 | head -c 3000 || echo "(no answer)"
        echo
    fi
    if [ -n "$SERVER_PID" ]; then
        if alive "$SERVER_PID"; then echo "----- server (pid $SERVER_PID): still running -----"; else echo "----- server (pid $SERVER_PID): not running -----"; fi
    fi
}

# verdict_cleanup — at exit: end every process started here, give back the ports.
verdict_cleanup() {
    peers_cleanup 2>/dev/null
    station_release_ports 2>/dev/null
}

# station_begin [casty|icecast] [TOOL...] — traps, scratch dir, tools (curl, ffmpeg, python3, icecast2 or
# casty-cli, and the extra TOOLs), casty-cli located. Default target: casty.
station_begin() {
    TARGET=${1:-casty}
    case $TARGET in
        casty | icecast) ;;
        *) echo "usage: $0 [casty|icecast]" >&2; exit 2 ;;
    esac
    shift || true
    VERDICT_TAG="$VERDICT_NAME/$TARGET"
    peers_trap
    verdict_traps
    TMP=$(peers_tmpdir)
    local tool
    for tool in curl ffmpeg python3 ss timeout "$@"; do
        command -v "$tool" >/dev/null || { fail "$tool is not installed (run scripts/install-peers.sh)"; exit 1; }
    done
    if [ "$TARGET" = icecast ]; then
        command -v icecast2 >/dev/null || { fail "icecast2 is not installed (run scripts/install-peers.sh)"; exit 1; }
    else
        find_casty_cli "$STATION_ROOT"
        info "casty-cli: $CLI"
    fi
    info "scratch: $TMP"
}

# station_end — exit with the verdict (the EXIT trap prints it and the evidence). On casty, first checks that no
# source had audio dropped as a stall's backlog (--source-catch-up): every source these scripts run (ffmpeg -re,
# ezstream, liquidsoap, RTMP and SRT publishers) sends at its pace, so a drop would be one taken for a flood wrongly
# (but in a script that sets STATION_FLOOD_EXPECTED=1: stall.sh floods on purpose).
station_end() {
    if [ "${TARGET:-}" = casty ] && [ -f "${SERVER_LOG:-}" ] && [ -z "${STATION_FLOOD_EXPECTED:-}" ]; then
        local flooded
        flooded=$(grep -m1 "came all at once" "$SERVER_LOG" || true)
        if [ -n "$flooded" ]; then
            fail "a source sending at its pace had audio dropped as a stall's backlog: $flooded"
        else
            pass "no source's audio was dropped as a stall's backlog (each sends at its pace)"
        fi
    fi
    verdict_end
}

# station_port — a free loopback port in 18800–18899 (random start), reserved for this script: scripts of this
# family run in parallel (swift test), and two of them could otherwise pick the same free port before either binds
# it (an application that then fails to bind while the check sees the other's server). A reservation is a directory
# STATION_PORT_LOCKS/PORT naming its owner's PID; verdict_cleanup removes this script's, and one whose owner is gone
# is taken over.
STATION_PORT_LOCKS=${TMPDIR:-/tmp}/casty-station-ports
station_port() {
    local i p owner start=$((RANDOM % 100))
    mkdir -p "$STATION_PORT_LOCKS"
    for ((i = 0; i < 100; i++)); do
        p=$((18800 + (start + i) % 100))
        if ! mkdir "$STATION_PORT_LOCKS/$p" 2>/dev/null; then
            owner=$(cat "$STATION_PORT_LOCKS/$p/owner" 2>/dev/null || true)
            if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then rm -rf "$STATION_PORT_LOCKS/$p"; fi
            continue
        fi
        echo "$$" >"$STATION_PORT_LOCKS/$p/owner"  # $$ is the script's own PID, also in $(station_port)
        if [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || _port_open "$p"; then continue; fi
        echo "$p"
        return 0
    done
    echo "station: no free port in 18800-18899" >&2
    return 1
}

# station_release_ports — give back the ports this script reserved.
station_release_ports() {
    local lock
    for lock in "$STATION_PORT_LOCKS"/*; do
        [ "$(cat "$lock/owner" 2>/dev/null || true)" != "$$" ] || rm -rf "$lock"
    done
}

# server_start [casty-cli server options...] — start the server under test on a free port (sets PORT, BASE,
# SERVER_PID, SERVER_LOG) with SRC_PW and ADMIN_PW; waits until it accepts TCP (exits with FAIL otherwise).
# SERVER_COMMAND=root makes it `casty-cli root` with the same options (a station server that places branches).
server_start() {
    PORT=$(station_port)
    BASE="http://127.0.0.1:$PORT"
    if [ "$TARGET" = casty ]; then
        SERVER_LOG="$TMP/casty.log"
        evidence_log "casty-cli server" "$SERVER_LOG"
        # The suite's recordings directory, for a server that records (--record, or key verification's x-record:
        # without either, --record-dir is a mistake), unless the caller names its own (an option given twice is too).
        local recordings=()
        [[ " $* " != *" --record "* && " $* " != *" --key-verification-url "* ]] || recordings=(--record-dir "$TMP/recordings")
        [[ " $* " != *" --record-dir "* ]] || recordings=()
        "$CLI" "${SERVER_COMMAND:-server}" --port "$PORT" --host 127.0.0.1 --source-password "$SRC_PW" --admin-password "$ADMIN_PW" \
            "${recordings[@]}" "$@" \
            </dev/null >"$SERVER_LOG" 2>&1 &
        SERVER_PID=$!
        peers_track "$SERVER_PID"
        if ! wait_port "$PORT" 15 "$SERVER_PID" 2>/dev/null; then
            local status=running
            alive "$SERVER_PID" || { status=0; wait "$SERVER_PID" || status=$?; }
            fail "casty-cli ${SERVER_COMMAND:-server} $* did not listen on 127.0.0.1:$PORT within 15 s (exit status: $status): $(head -c 300 "$SERVER_LOG" | tr '\n' ' ')"
            exit 1
        fi
        info "casty-cli server on $BASE (pid $SERVER_PID): $*"
    else
        _icecast_server_start "$@"
    fi
}

# _icecast_server_start [options] — the icecast side of server_start (see the header for the mapping).
_icecast_server_start() {
    local mounts_xml="" timeout=10 station_mounts=() a b m
    while [ $# -gt 0 ]; do
        case $1 in
            --accept-all) shift ;;
            --mounts) info "icecast has no mount whitelist: --mounts $2 not applied"; shift 2 ;;
            --fallback)
                a=${2%%=*}
                b=${2#*=}
                mounts_xml+="
    <mount type=\"normal\">
        <mount-name>$a</mount-name>
        <fallback-mount>$b</fallback-mount>
        <fallback-override>1</fallback-override>
    </mount>"
                shift 2
                ;;
            --source-timeout) timeout=$2; shift 2 ;;
            --station) station_mounts+=("$2"); shift 2 ;;
            *) info "option $1 has no icecast equivalent here"; shift ;;
        esac
    done
    # The shared Icecast config of scripts/lib/peers.sh, with this suite's passwords, timeout and mounts.
    ICECAST_BURST_SIZE=65535 \
        ICECAST_MAX_SOURCES=10 ICECAST_SOURCE_TIMEOUT=$timeout ICECAST_MOUNTS_XML=$mounts_xml ICECAST_LOGLEVEL=4 \
        ICECAST_STATUS_ALIAS=/status.json ICECAST_STATUS_PAGE=/status-json.xsl \
        icecast_start "$PORT" "$TMP/icecast" || { fail "icecast2 did not start"; exit 1; }
    SERVER_PID=$ICECAST_PID
    SERVER_LOG="$ICECAST_WORKDIR/log/error.log"
    evidence_log "icecast error.log" "$SERVER_LOG"
    evidence_log "icecast access.log" "$ICECAST_WORKDIR/log/access.log"
    info "icecast2 on $BASE (pid $SERVER_PID), source-timeout $timeout s"
    for m in "${station_mounts[@]}"; do
        evidence_log "ffmpeg station ${m}" "$ICECAST_WORKDIR/source-${m#/}.log"
        source_start "$PORT" "$m" 220 || { fail "the ffmpeg source standing in for --station $m did not go live"; exit 1; }
        info "ffmpeg 220 Hz sine on $m stands in for casty's --station $m"
    done
}

# http_code [CURL ARGS...] URL — the HTTP status (000 when unreachable), reading at most 1 s of a stream.
http_code() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" 2>/dev/null) || true
    echo "${code:-000}"
}

# admin_get USER:PW PATH-AND-QUERY OUTFILE — GET an admin URL with Basic auth; prints the status, body to OUTFILE.
admin_get() {
    local code
    code=$(curl -s -o "$3" -w '%{http_code}' --max-time 5 -u "$1" "$BASE$2" 2>/dev/null) || true
    echo "${code:-000}"
}

# set_title_as USER:PW MOUNT TITLE — /admin/metadata?mode=updinfo; prints the HTTP status.
set_title_as() {
    local code
    code=$(curl -s -o "$TMP/metadata-reply.txt" -w '%{http_code}' --max-time 5 -G -u "$1" \
        --data-urlencode "mount=$2" --data-urlencode "mode=updinfo" --data-urlencode "song=$3" \
        "$BASE/admin/metadata" 2>/dev/null) || true
    echo "${code:-000}"
}

# mount_live MOUNT — does GET MOUNT answer 200 right now?
mount_live() { [ "$(http_code "$BASE$1")" = 200 ]; }

# wait_live MOUNT [SECONDS] — wait until MOUNT answers 200 (default 10 s).
wait_live() { wait_until "${2:-10}" mount_live "$1"; }

# ffmpeg_publish NAME MOUNT FREQ CODEC [ffmpeg options...] — ffmpeg pushes a FREQ Hz sine in real time with
# `-f mp3` (CODEC mp3) or `-content_type audio/aac -f adts` (CODEC aac) to icecast://source:PW@…/MOUNT.
# Log in $TMP/NAME.log; sets LAST_PID.
ffmpeg_publish() {
    local name=$1 mount=$2 freq=$3 codec=$4 enc
    shift 4
    if [ "$codec" = aac ]; then
        enc=(-c:a aac -b:a 96k -content_type audio/aac -f adts)
    else
        enc=(-c:a libmp3lame -b:a 128k -id3v2_version 0 -write_xing 0 -content_type audio/mpeg -f mp3)
    fi
    evidence_log "ffmpeg $name" "$TMP/$name.log"
    ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i "sine=frequency=$freq:sample_rate=44100" \
        -ac 2 -ar 44100 -map_metadata -1 "$@" "${enc[@]}" \
        "icecast://source:$SRC_PW@127.0.0.1:$PORT$mount" </dev/null >"$TMP/$name.log" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
}

# make_mp3 FILE FREQ SECONDS — an MP3 file (128 kbit/s CBR, 44.1 kHz stereo, no ID3/Xing) of a FREQ Hz sine.
make_mp3() {
    ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "sine=frequency=$2:sample_rate=44100:duration=$3" \
        -ac 2 -ar 44100 -c:a libmp3lame -b:a 128k -id3v2_version 0 -write_xing 0 -map_metadata -1 -y "$1"
}

# audio_check LABEL WAV MIN_SECONDS [FREQ] — the decoded file is at least MIN_SECONDS long, not silent (over half
# the samples non-zero, RMS above -40 dBFS) and, when FREQ is given, a sine within 8 % of FREQ Hz.
audio_check() {
    local label=$1 wav=$2 min=$3 freq=${4:-} stats secs nz rms f
    stats=$(python3 "$ICY_PY" pcm "$wav" 2>&1) || true
    secs=$(sed -nE 's/.*seconds=([0-9.]+).*/\1/p' <<<"$stats")
    nz=$(sed -nE 's/.*nonzero=([0-9.]+).*/\1/p' <<<"$stats")
    rms=$(sed -nE 's/.*rms_db=(-?[0-9.]+).*/\1/p' <<<"$stats")
    f=$(sed -nE 's/.*freq=([0-9.]+).*/\1/p' <<<"$stats")
    if awk -v s="${secs:-0}" -v m="$min" -v nz="${nz:-0}" -v r="${rms:--999}" -v f="${f:-0}" -v want="${freq:-0}" \
        'BEGIN { ok = s >= m && nz > 0.5 && r > -40; if (want > 0) ok = ok && f > want * 0.92 && f < want * 1.08; exit !ok }'; then
        pass "$label: decoded audio is not silent ($stats${freq:+; expected $freq Hz})"
    else
        fail "$label: decoded audio fails (want >= $min s, nonzero > 0.5, rms > -40 dB${freq:+, ~$freq Hz}): $stats"
    fi
}

# decoder_start NAME mpg123|ffmpeg URL SECONDS — decode SECONDS of URL into $TMP/NAME.wav in the background (for
# audio_check), its output in $TMP/NAME.log. Sets LAST_PID.
decoder_start() {
    local name=$1 tool=$2 url=$3 secs=$4
    evidence_log "$tool $name" "$TMP/$name.log"
    if [ "$tool" = mpg123 ]; then
        (timeout 20 mpg123 -n $((secs * 40)) -w "$TMP/$name.wav" "$url" >"$TMP/$name.log" 2>&1 || true) &
    else
        (timeout 20 ffmpeg -nostdin -hide_banner -i "$url" -t "$secs" -y "$TMP/$name.wav" >"$TMP/$name.log" 2>&1 || true) &
    fi
    LAST_PID=$!
    peers_track "$LAST_PID"
}

# title_check WHAT NAME TITLE — pass when the listener NAME (listen_start NAME … --until-title TITLE) saw TITLE with
# intact framing, else fail with what it saw (and return 1).
title_check() {
    local what=$1 json="$TMP/$2.json"
    if [ "$(json_field "$json" until_title_seen)" = True ]; then
        pass "$what (metaint $(json_field "$json" metaint), framing intact over $(json_field "$json" blocks) blocks)"
    else
        fail "$what: the listener did not see StreamTitle='$3' (titles $(json_field "$json" titles), framing_ok" \
            "$(json_field "$json" framing_ok) $(json_field "$json" framing_error), status $(json_field "$json" status))"
        return 1
    fi
}

# json_field FILE KEY — a top-level field of a listen summary (python3, compact JSON).
json_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print(json.dumps(v) if isinstance(v,(list,dict)) else v)' "$1" "$2" 2>/dev/null || true; }

# listen_start NAME URL SECONDS [icy.py listen options...] — python3 ICY listener in the background; summary
# in $TMP/NAME.json, its output in $TMP/NAME.out. Sets LAST_PID.
listen_start() {
    local name=$1 url=$2 secs=$3
    shift 3
    evidence_log "listener $name" "$TMP/$name.out"
    python3 "$ICY_PY" listen --url "$url" --seconds "$secs" --json "$TMP/$name.json" "$@" </dev/null >"$TMP/$name.out" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
}

# source_py NAME [icy.py source options...] — python3 source client in the background (PORT and SRC_PW given
# unless overridden); output in $TMP/NAME.out. Sets LAST_PID.
source_py() {
    local name=$1
    shift
    evidence_log "source $name" "$TMP/$name.out"
    python3 "$ICY_PY" source --port "$PORT" --password "$SRC_PW" "$@" </dev/null >"$TMP/$name.out" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
}

# out_status FILE — the status code an icy.py source printed (000 when none yet).
out_status() { sed -nE 's/^STATUS ([0-9]{3}).*/\1/p' "$1" 2>/dev/null | head -1 | grep . || echo 000; }
# out_line FILE — the status line (and body) an icy.py source printed, for messages.
out_line() { grep -E '^(INTERIM|STATUS|BODY)' "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-300; }
