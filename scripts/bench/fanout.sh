#!/usr/bin/env bash
# scripts/bench/fanout.sh — `casty-bench fanout` against Casty and Icecast 2 in the same run, fed the same stream.
#
#     swift build -c release --product casty-bench
#     bash scripts/bench/fanout.sh [COUNTS] [-- extra casty-bench fanout options]
#
# COUNTS defaults to "1000 5000 10000 19000". For each count it starts a fresh Icecast 2 (Debian's icecast2,
# via scripts/lib/peers.sh) on a free loopback port with an ffmpeg source pushing a 128 kbit/s MP3 sine to
# /tone in real time, then runs `casty-bench fanout --counts N`, which measures Casty (`casty-bench serve`, a
# Casty proxy of that same /tone mount) and then Icecast itself, and stops Icecast. Fresh servers per count
# keep each RSS figure from carrying memory over from a bigger step.
#
# Everything listens on and connects to 127.0.0.0/8 only. No sysctl is changed: net.core.somaxconn (4096),
# the ephemeral port range and tcp_max_syn_backlog are read, not written (see BENCHMARKS.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/scripts/lib/peers.sh"

counts="1000 5000 10000 19000"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then counts=$1; shift; fi
[ "${1:-}" = "--" ] && shift
bench="${CASTY_BENCH:-$root/.build/release/casty-bench}"
[ -x "$bench" ] || { echo "fanout.sh: build first: swift build -c release --product casty-bench" >&2; exit 1; }

peers_trap
echo "fanout.sh: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -sr), $(nproc) cores; icecast2 $(dpkg-query -W -f '${Version}' icecast2 2>/dev/null || echo '?')"
echo "sysctl: somaxconn=$(sysctl -n net.core.somaxconn) tcp_max_syn_backlog=$(sysctl -n net.ipv4.tcp_max_syn_backlog) ip_local_port_range='$(sysctl -n net.ipv4.ip_local_port_range)' nofile hard=$(ulimit -Hn)"
rows=()
for count in $counts; do
    port=$(free_port)
    icecast_start "$port" "$(peers_tmpdir)/icecast-$count"
    source_start "$port" tone 440
    out=$("$bench" fanout --counts "$count" --icecast-port "$port" --icecast-pid "$ICECAST_PID" --icecast-mount /tone "$@" \
        | tee /dev/stderr)
    while IFS= read -r line; do rows+=("$line"); done < <(printf '%s\n' "$out" | grep -E '^\| (casty|icecast) ' | sort -u)
    source_stop
    icecast_stop
    sleep 2
done
echo
printf '%s\n' "$out" | grep -E '^\| server ' | head -1
printf '%s\n' "$out" | grep -E '^\|---' | head -1
printf '%s\n' "${rows[@]}"
