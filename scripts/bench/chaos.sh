#!/usr/bin/env bash
# scripts/bench/chaos.sh — good listeners' largest gap while abusive clients hit the server, Casty next to
# Icecast 2 in the same run (issue 9, "Hardening").
#
#     swift build -c release --product casty-cli
#     bash scripts/bench/chaos.sh [options]
#
# Each run starts Icecast 2 (scripts/lib/peers.sh) on 127.0.0.1:18950 with an ffmpeg source pushing a 128 kbit/s
# MP3 sine to /tone, and in front of it `casty-cli proxy` on 18951 (--segment-bytes 8192, the default) and on
# 18952 (--segment-bytes 4096). Every server gets the same descriptor limit (--nofile, soft and hard).
# scripts/bench/chaos.py then attaches the good listeners to all three, measures a window without abuse, and
# abuses each server in turn (fuzzed requests, slowloris, connection floods, listeners that never read, idle
# connections past the descriptor limit), measuring that server's listeners meanwhile. A run takes about
# warm-up + QUIET + 3 × (ABUSE + 2) seconds plus start-up; with the defaults, under 2 minutes. With --runs N
# the servers are started afresh for every run, and the medians of the N runs are printed at the end.
#
# options:
#   --runs N          runs, each with fresh servers (default 1)
#   --quiet S         seconds measured without abuse (default 20)
#   --abuse S         seconds of abuse per server (default 20)
#   --listeners K     good listeners per server (default 20)
#   --kinds LIST      abuse kinds, comma-separated: fuzz,slowloris,flood,stall,idle (default all)
#   --servers LIST    which servers: icecast,casty,casty-4096 (default all three)
#   --nofile N        descriptor limit of every server (default 2048)
#   --metaint N       Icecast's icy-metaint on /tone (its mp3-metadata-interval; default Icecast's own, 16000):
#                     the upstream block size Casty reads, and what its own listeners' cadence waits for
#   --keep DIR        also copy each run's figures (JSON) to DIR
#   -h, --help        this text
#
# Everything listens on and connects to 127.0.0.1 only; ports 18950–18952 must be free. Scratch files go to a
# mktemp directory, removed on exit with every process started here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$root/scripts/lib/common.sh"
# shellcheck source=scripts/lib/peers.sh
. "$root/scripts/lib/peers.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

runs=1 quiet=20 abuse=20 listeners=20 kinds=fuzz,slowloris,flood,stall,idle servers=icecast,casty,casty-4096
nofile=2048 metaint="" keep=""
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --quiet) quiet=$2; shift 2 ;;
        --abuse) abuse=$2; shift 2 ;;
        --listeners) listeners=$2; shift 2 ;;
        --kinds) kinds=$2; shift 2 ;;
        --servers) servers=$2; shift 2 ;;
        --nofile) nofile=$2; shift 2 ;;
        --metaint) metaint=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "chaos.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

ICE_PORT=18950
CLI=${CASTY_CLI:-$root/.build/release/casty-cli}
[ -x "$CLI" ] || { echo "chaos.sh: build first: swift build -c release --product casty-cli (or set CASTY_CLI)" >&2; exit 1; }
for port in 18950 18951 18952; do
    if listening "$port"; then echo "chaos.sh: 127.0.0.1:$port is taken" >&2; exit 1; fi
done

peers_trap
TMP=$(peers_tmpdir)

# casty_has_segments PORT — does the Casty proxy on PORT report segments in /status.json?
casty_has_segments() {
    curl -s --max-time 2 "http://127.0.0.1:$1/status.json" 2>/dev/null | grep -qE '"segments"[[:space:]]*:[[:space:]]*[1-9]'
}

# casty_counters PORT — listeners, refused, skipped and dropped from the /status.json of the Casty proxy on PORT.
casty_counters() {
    curl -s --max-time 2 "http://127.0.0.1:$1/status.json" 2>/dev/null |
        grep -oE '"(listeners|refused|skipped|dropped)"[[:space:]]*:[[:space:]]*[0-9]+' | tr -d '" ' | tr '\n' ' ' || true
}

# casty_proxy NAME PORT SEGMENT_BYTES — a release casty-cli proxy of Icecast's /tone; sets LAST_PID.
casty_proxy() {
    (ulimit -n "$nofile"; exec "$CLI" proxy "http://127.0.0.1:$ICE_PORT/tone" --port "$2" --segment-bytes "$3") \
        </dev/null >"$TMP/$1.log" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
    wait_port "$2" 15 "$LAST_PID"
    wait_until 15 casty_has_segments "$2" || { echo "chaos.sh: $1 has no segments after 15 s" >&2; tail "$TMP/$1.log" >&2; exit 1; }
}

echo "chaos.sh: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -sr), $(nproc) cores ($(lscpu | sed -n 's/^Model name:[[:space:]]*//p')); icecast2 $(dpkg-query -W -f '${Version}' icecast2 2>/dev/null || echo '?'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "chaos.sh: casty-cli $CLI; servers $servers; kinds $kinds; nofile $nofile; metaint ${metaint:-16000 (Icecast default)}; $listeners listeners; quiet ${quiet}s, abuse ${abuse}s"
results=()
for ((run = 1; run <= runs; run++)); do
    mounts_xml=""
    [ -z "$metaint" ] || mounts_xml="<mount><mount-name>/tone</mount-name><mp3-metadata-interval>$metaint</mp3-metadata-interval></mount>"
    ICECAST_NOFILE=$nofile ICECAST_MOUNTS_XML=$mounts_xml icecast_start "$ICE_PORT" "$TMP/icecast-$run"
    source_start "$ICE_PORT" tone 440
    started=()
    casty_ports=()
    targets=()
    for server in ${servers//,/ }; do
        case $server in
            icecast) targets+=(--target "icecast=$ICE_PORT/tone") ;;
            casty) casty_proxy casty 18951 8192; started+=("$LAST_PID"); casty_ports+=(18951); targets+=(--target "casty=18951/") ;;
            casty-4096) casty_proxy casty-4096 18952 4096; started+=("$LAST_PID"); casty_ports+=(18952); targets+=(--target "casty-4096=18952/") ;;
            *) echo "chaos.sh: unknown server $server" >&2; exit 2 ;;
        esac
    done
    echo "chaos.sh: run $run of $runs"
    python3 "$here/chaos.py" run "${targets[@]}" --listeners "$listeners" --quiet "$quiet" --abuse "$abuse" \
        --kinds "$kinds" --nofile "$nofile" --seed "$run" --json "$TMP/run-$run.json"
    results+=("$TMP/run-$run.json")
    [ -z "$keep" ] || cp "$TMP/run-$run.json" "$keep/"
    for port in "${casty_ports[@]}"; do
        echo "chaos.sh: casty on $port after the run: $(casty_counters "$port")"
    done
    peers_stop "${started[@]}"
    source_stop
    icecast_stop
done
echo
python3 "$here/chaos.py" summary "${results[@]}"
