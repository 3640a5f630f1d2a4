# shellcheck shell=bash
# scripts/lib/peers.sh — start and stop the third-party peers Casty is tested against (Icecast 2 as the
# upstream server, ffmpeg as its source; VLC and friends as listeners), on loopback only.
#
# Source it from a bash test script (after scripts/install-peers.sh has run):
#
#     set -euo pipefail
#     . "$(dirname "$0")/lib/peers.sh"
#     peers_trap                                   # kill everything we start when the script exits
#     port=$(free_port)
#     icecast_start "$port" "$(peers_tmpdir)/icecast"
#     source_start "$port" tone 440               # ffmpeg → http://127.0.0.1:$port/tone
#     set_title "$port" tone "Hello – world"
#     as_unprivileged cvlc --play-and-exit "http://127.0.0.1:$port/tone" &
#     peers_track $!                               # so that peers_cleanup ends it too
#
# Functions (all fail with a message on stderr and a non-zero status; none prompts):
#   free_port                      print an unused loopback TCP port (call it as $(free_port))
#   wait_port PORT [TIMEOUT] [PID] wait until 127.0.0.1:PORT accepts TCP (default 10 s; give up early if PID dies)
#   peers_trap                     create the scratch dir and install `trap peers_cleanup EXIT` (+ INT/TERM)
#   peers_cleanup                  end every process started here or passed to peers_track, remove temp dirs
#   peers_track PID...             add PIDs of your own background processes to what peers_cleanup ends
#   peers_stop PID...              end (and reap) some of those processes now, the way peers_cleanup would
#   peers_tmpdir                   print (creating once) a scratch directory removed by peers_cleanup
#   icecast_start PORT WORKDIR     write WORKDIR/icecast.xml, run icecast2 on 127.0.0.1:PORT, wait until it listens
#   icecast_stop                   stop that Icecast and wait for it
#   source_start PORT MOUNT [FREQ] ffmpeg pushes a FREQ Hz (default 440) sine, MP3 128 kbit/s 44.1 kHz stereo,
#                                  to Icecast at /MOUNT in real time; waits until the mount is live
#   source_stop [MOUNT]            stop the source of MOUNT (default: every source)
#   set_title PORT MOUNT TITLE     set the StreamTitle of /MOUNT through Icecast's admin interface
#   as_unprivileged CMD...         run CMD as user `nobody` with a fresh writable HOME (VLC refuses root)
#
# Variables (exported; override before sourcing or before calling):
#   ICECAST_SOURCE_PASSWORD (hackme)  ICECAST_ADMIN_USER (admin)  ICECAST_ADMIN_PASSWORD (hackme)
#   ICECAST_PORT, ICECAST_PID, ICECAST_WORKDIR are set by icecast_start; SOURCE_PIDS[MOUNT] by source_start.
#   ICECAST_BURST_SIZE (65535, Icecast's default): bytes sent at once to a new listener.
#   ICECAST_NOFILE (unset: the hard limit): Icecast's open-files limit, soft and hard.
#   PEERS_WAIT (10): default seconds for every bounded wait.
#
# Everything listens on and connects to 127.0.0.1 only. Passwords and paths go into XML unescaped:
# keep them to letters, digits and simple punctuation.

export ICECAST_SOURCE_PASSWORD="${ICECAST_SOURCE_PASSWORD:-hackme}"
export ICECAST_ADMIN_USER="${ICECAST_ADMIN_USER:-admin}"
export ICECAST_ADMIN_PASSWORD="${ICECAST_ADMIN_PASSWORD:-hackme}"
export ICECAST_PORT="${ICECAST_PORT:-}"
export ICECAST_PID="${ICECAST_PID:-}"
export ICECAST_WORKDIR="${ICECAST_WORKDIR:-}"
export ICECAST_BURST_SIZE="${ICECAST_BURST_SIZE:-65535}"
PEERS_WAIT="${PEERS_WAIT:-10}"

# PIDs that peers_cleanup ends, and scratch directories it removes.
PEERS_PIDS=()
PEERS_DIRS=()
PEERS_TMP=""
PEERS_NOBODY_HOME=""
declare -gA SOURCE_PIDS=()

_peers_die() { echo "peers: $*" >&2; return 1; }

# peers_track PID... — remember background processes so that peers_cleanup ends them.
peers_track() { PEERS_PIDS+=("$@"); }

# _peers_untrack PID — forget a PID once it has been ended (so a recycled PID is never signalled).
_peers_untrack() {
    local i
    for i in "${!PEERS_PIDS[@]}"; do
        [ "${PEERS_PIDS[i]}" = "$1" ] && unset "PEERS_PIDS[i]"
    done
    PEERS_PIDS=("${PEERS_PIDS[@]}")
}

# _peers_gone PID — has PID exited (or is it a zombie waiting to be reaped, or being reaped: ps shows it dead, X, or
# no longer at all, between the kill -0 and its own look)? A PID that exits while it is asked must not read as
# alive on the second asking after it read as gone on the first.
_peers_gone() {
    ! kill -0 "$1" 2>/dev/null && return 0
    case "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" in
        Z | X | "") return 0 ;;
        *) return 1 ;;
    esac
}
# alive PID — is PID running (and not a zombie)?
alive() { ! _peers_gone "$1"; }

# _peers_wait_gone PID TENTHS — wait up to TENTHS × 0.1 s for PID to exit.
_peers_wait_gone() {
    local i
    for ((i = 0; i < $2; i++)); do
        _peers_gone "$1" && return 0
        sleep 0.1
    done
    _peers_gone "$1"
}

# _peers_kill PID — end a process and reap it if it is ours. When PID has children (a background
# subshell running `as_unprivileged cmd`, say), they get SIGTERM first and PID gets 3 s to exit on its
# own, so every process is reaped by its own parent; then PID gets SIGTERM, and after 5 s SIGKILL.
_peers_kill() {
    local pid=$1
    if ! _peers_gone "$pid"; then
        if pkill -TERM -P "$pid" 2>/dev/null; then
            _peers_wait_gone "$pid" 30 || true
        fi
        if ! _peers_gone "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            if ! _peers_wait_gone "$pid" 50; then
                pkill -KILL -P "$pid" 2>/dev/null || true
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    wait "$pid" 2>/dev/null || true
    _peers_untrack "$pid"
}

# peers_stop PID... — end tracked (or own background) processes now, as peers_cleanup would, and forget them.
peers_stop() {
    local pid
    for pid in "$@"; do
        [ -n "$pid" ] && _peers_kill "$pid"
    done
    return 0
}

# peers_cleanup — end every tracked process (newest first) and remove the scratch directories.
peers_cleanup() {
    local i
    for ((i = ${#PEERS_PIDS[@]} - 1; i >= 0; i--)); do
        _peers_kill "${PEERS_PIDS[i]}"
    done
    PEERS_PIDS=()
    SOURCE_PIDS=()
    ICECAST_PID=""
    for i in "${PEERS_DIRS[@]}"; do
        [ -n "$i" ] && rm -rf -- "$i"
    done
    PEERS_DIRS=()
    PEERS_TMP=""
    PEERS_NOBODY_HOME=""
}

# peers_trap — call peers_cleanup when the script exits (normally, by error under set -e, or by signal).
peers_trap() {
    peers_tmpdir >/dev/null
    trap 'peers_cleanup' EXIT
    trap 'peers_cleanup; trap - INT; kill -INT $$' INT
    trap 'peers_cleanup; trap - TERM; kill -TERM $$' TERM
}

# peers_tmpdir — print a scratch directory (world-traversable, so that icecast2 and nobody reach the
# subdirectories they own), removed by peers_cleanup; it holds nobody-home/, the HOME of as_unprivileged.
# The first call must happen in the main shell, not in $(...) or a background job, or the directory is
# neither remembered nor removed: peers_trap makes that first call.
peers_tmpdir() {
    if [ -z "$PEERS_TMP" ]; then
        PEERS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/casty-peers.XXXXXX")
        chmod 755 "$PEERS_TMP"
        PEERS_DIRS+=("$PEERS_TMP")
        PEERS_NOBODY_HOME="$PEERS_TMP/nobody-home"
        mkdir -p "$PEERS_NOBODY_HOME"
        if [ "$(id -u)" -eq 0 ]; then
            chown nobody: "$PEERS_NOBODY_HOME"
            chmod 700 "$PEERS_NOBODY_HOME"
        fi
    fi
    echo "$PEERS_TMP"
}

# _port_open PORT — does 127.0.0.1:PORT accept a TCP connection right now?
_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT [TIMEOUT] [PID] — wait until 127.0.0.1:PORT accepts connections; fail after TIMEOUT
# seconds (default $PEERS_WAIT), or as soon as PID (if given) is no longer running.
wait_port() {
    local port=$1 timeout=${2:-$PEERS_WAIT} pid=${3:-} deadline
    deadline=$((SECONDS + timeout))
    until _port_open "$port"; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            _peers_die "process $pid exited before 127.0.0.1:$port opened"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            _peers_die "nothing listens on 127.0.0.1:$port after ${timeout}s"
            return 1
        fi
        sleep 0.1
    done
}

# free_port — print a TCP port that nothing holds at 127.0.0.1, below the ephemeral range (lib/free-port.py), so
# that no outgoing connection takes it between choosing and binding.
free_port() {
    python3 "$(dirname "${BASH_SOURCE[0]}")/free-port.py" || _peers_die "found no free port"
}

# icecast_start PORT WORKDIR — configure and start Icecast 2 on 127.0.0.1:PORT, in the background.
# Writes WORKDIR/icecast.xml, logs in WORKDIR/log (error.log, access.log) and stdout/stderr in
# WORKDIR/icecast.out. As root, Icecast switches to the Debian package's `icecast2` user (it refuses
# to run as root), so WORKDIR is made traversable and WORKDIR/log owned by that user.
icecast_start() {
    local port=${1:?usage: icecast_start PORT WORKDIR} workdir=${2:?usage: icecast_start PORT WORKDIR}
    local changeowner="" user=icecast2 group
    command -v icecast2 >/dev/null || { _peers_die "icecast2 is not installed (run scripts/install-peers.sh)"; return 1; }
    if [ -n "$ICECAST_PID" ] && kill -0 "$ICECAST_PID" 2>/dev/null; then
        _peers_die "an Icecast is already running here (pid $ICECAST_PID); icecast_stop first"
        return 1
    fi
    mkdir -p "$workdir/log"
    workdir=$(cd "$workdir" && pwd)
    chmod 755 "$workdir"
    if [ "$(id -u)" -eq 0 ]; then
        id "$user" >/dev/null 2>&1 || { _peers_die "user $user missing (is the icecast2 package installed?)"; return 1; }
        group=$(id -gn "$user")
        chown "$user:$group" "$workdir/log"
        changeowner="<changeowner><user>$user</user><group>$group</group></changeowner>"
    fi
    cat >"$workdir/icecast.xml" <<XML
<!-- Written by scripts/lib/peers.sh for Casty's tests: loopback only, throwaway passwords. -->
<icecast>
    <location>Casty test bench</location>
    <admin>casty@localhost</admin>
    <hostname>127.0.0.1</hostname>
    <limits>
        <clients>25000</clients>
        <sources>${ICECAST_MAX_SOURCES:-4}</sources>
        <queue-size>524288</queue-size>
        <client-timeout>30</client-timeout>
        <header-timeout>15</header-timeout>
        <source-timeout>${ICECAST_SOURCE_TIMEOUT:-10}</source-timeout>
        <burst-on-connect>1</burst-on-connect>
        <burst-size>$ICECAST_BURST_SIZE</burst-size>
    </limits>
    <authentication>
        <source-password>$ICECAST_SOURCE_PASSWORD</source-password>
        <relay-password>$ICECAST_SOURCE_PASSWORD</relay-password>
        <admin-user>$ICECAST_ADMIN_USER</admin-user>
        <admin-password>$ICECAST_ADMIN_PASSWORD</admin-password>
    </authentication>
    <listen-socket>
        <port>$port</port>
        <bind-address>127.0.0.1</bind-address>
    </listen-socket>${ICECAST_MOUNTS_XML:-}
    <fileserve>1</fileserve>
    <paths>
        <basedir>/usr/share/icecast2</basedir>
        <logdir>$workdir/log</logdir>
        <webroot>/usr/share/icecast2/web</webroot>
        <adminroot>/usr/share/icecast2/admin</adminroot>
        <alias source="${ICECAST_STATUS_ALIAS:-/}" destination="${ICECAST_STATUS_PAGE:-/status.xsl}"/>
    </paths>
    <logging>
        <accesslog>access.log</accesslog>
        <errorlog>error.log</errorlog>
        <loglevel>${ICECAST_LOGLEVEL:-3}</loglevel>
        <logsize>10000</logsize>
    </logging>
    <security>
        <chroot>0</chroot>
        $changeowner
    </security>
</icecast>
XML
    # Raise the open-files limit as far as allowed (load tests open many listeners), or set it to
    # ICECAST_NOFILE (soft and hard) when given; exec keeps the PID.
    (ulimit -n "${ICECAST_NOFILE:-$(ulimit -Hn)}" 2>/dev/null || true; exec icecast2 -c "$workdir/icecast.xml") \
        </dev/null >"$workdir/icecast.out" 2>&1 &
    ICECAST_PID=$!
    ICECAST_PORT=$port
    ICECAST_WORKDIR=$workdir
    peers_track "$ICECAST_PID"
    if ! wait_port "$port" "$PEERS_WAIT" "$ICECAST_PID"; then
        echo "peers: icecast2 did not start; its output and error log:" >&2
        cat "$workdir/icecast.out" "$workdir/log/error.log" >&2 2>/dev/null || true
        icecast_stop
        return 1
    fi
}

# icecast_stop — stop the Icecast started by icecast_start and wait for it to exit.
icecast_stop() {
    [ -n "$ICECAST_PID" ] || return 0
    _peers_kill "$ICECAST_PID"
    ICECAST_PID=""
}

# _http_code URL — print the HTTP status of URL (000 when unreachable); reads at most 1 s of the body.
_http_code() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null) || true
    echo "${code:-000}"
}

# source_start PORT MOUNT [FREQ] — ffmpeg generates a FREQ Hz sine (default 440) in real time, encodes
# MP3 128 kbit/s CBR, 44.1 kHz stereo, and pushes it to Icecast on 127.0.0.1:PORT at /MOUNT with station
# headers (icy-name "Casty test tone FREQ Hz", genre, description). Waits until the mount answers 200.
# ffmpeg's log goes to ${ICECAST_WORKDIR:-tmpdir}/source-MOUNT.log.
source_start() {
    local port=${1:?usage: source_start PORT MOUNT [FREQ]} mount=${2:?usage: source_start PORT MOUNT [FREQ]}
    local freq=${3:-440} logdir log pid deadline code
    mount=${mount#/}
    command -v ffmpeg >/dev/null || { _peers_die "ffmpeg is not installed (run scripts/install-peers.sh)"; return 1; }
    logdir=${ICECAST_WORKDIR:-$(peers_tmpdir)}
    log="$logdir/source-${mount//\//_}.log"
    ffmpeg -nostdin -hide_banner -loglevel warning -re \
        -f lavfi -i "sine=frequency=$freq:sample_rate=44100" \
        -ac 2 -c:a libmp3lame -b:a 128k -ar 44100 \
        -id3v2_version 0 -write_xing 0 -map_metadata -1 \
        -content_type audio/mpeg \
        -ice_name "Casty test tone $freq Hz" -ice_genre "Test" \
        -ice_description "A $freq Hz sine from ffmpeg, for Casty's tests" \
        -f mp3 "icecast://source:$ICECAST_SOURCE_PASSWORD@127.0.0.1:$port/$mount" \
        </dev/null >"$log" 2>&1 &
    pid=$!
    SOURCE_PIDS[$mount]=$pid
    peers_track "$pid"
    deadline=$((SECONDS + PEERS_WAIT))
    while :; do
        code=$(_http_code "http://127.0.0.1:$port/$mount")
        [ "$code" = 200 ] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            _peers_die "ffmpeg source for /$mount exited; its log:"
            cat "$log" >&2 || true
            source_stop "$mount"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            _peers_die "/$mount on 127.0.0.1:$port not live after ${PEERS_WAIT}s (last HTTP status $code); ffmpeg log:"
            cat "$log" >&2 || true
            source_stop "$mount"
            return 1
        fi
        sleep 0.2
    done
}

# source_stop [MOUNT] — stop the ffmpeg source of MOUNT, or of every mount when none is given.
source_stop() {
    local mount
    if [ $# -gt 0 ]; then
        mount=${1#/}
        [ -n "${SOURCE_PIDS[$mount]:-}" ] || return 0
        _peers_kill "${SOURCE_PIDS[$mount]}"
        unset "SOURCE_PIDS[$mount]"
    else
        for mount in "${!SOURCE_PIDS[@]}"; do
            _peers_kill "${SOURCE_PIDS[$mount]}"
        done
        SOURCE_PIDS=()
    fi
}

# set_title PORT MOUNT TITLE — update the stream title of /MOUNT (Icecast's /admin/metadata, mode=updinfo).
# curl URL-encodes the title; its UTF-8 bytes are passed as they are (no charset= parameter), and Icecast
# puts them unchanged into StreamTitle='...'. Fails unless Icecast answers 200 with <return>1</return>.
set_title() {
    local port=${1:?usage: set_title PORT MOUNT TITLE} mount=${2:?usage: set_title PORT MOUNT TITLE}
    local title=${3?usage: set_title PORT MOUNT TITLE} reply code
    mount=${mount#/}
    reply=$(curl -sS --max-time 5 -G -w '\n%{http_code}' \
        -u "$ICECAST_ADMIN_USER:$ICECAST_ADMIN_PASSWORD" \
        --data-urlencode "mount=/$mount" --data-urlencode "mode=updinfo" --data-urlencode "song=$title" \
        "http://127.0.0.1:$port/admin/metadata") || { _peers_die "set_title: curl failed"; return 1; }
    code=${reply##*$'\n'}
    if [ "$code" != 200 ] || [[ "$reply" != *"<return>1</return>"* ]]; then
        _peers_die "set_title /$mount failed (HTTP $code): ${reply%$'\n'*}"
        return 1
    fi
}

# as_unprivileged CMD... — run CMD as user `nobody` (VLC, for one, refuses to run as root), with HOME
# set to a fresh directory nobody owns (removed by peers_cleanup). When not root, CMD just runs.
# Run it in the background with `as_unprivileged cvlc ... & peers_track $!`: the PID is runuser's, which
# passes SIGTERM on to CMD. Files CMD writes must go where `nobody` may write (e.g. $PEERS_NOBODY_HOME).
as_unprivileged() {
    [ $# -gt 0 ] || { _peers_die "usage: as_unprivileged CMD..."; return 1; }
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
        return
    fi
    [ -n "$PEERS_NOBODY_HOME" ] || peers_tmpdir >/dev/null
    runuser -u nobody -- env HOME="$PEERS_NOBODY_HOME" XDG_CONFIG_HOME="$PEERS_NOBODY_HOME/.config" \
        XDG_CACHE_HOME="$PEERS_NOBODY_HOME/.cache" XDG_RUNTIME_DIR="$PEERS_NOBODY_HOME" "$@"
}
