#!/usr/bin/env bash
# common.sh — small helpers shared by the test scripts (scripts/interop, scripts/station, scripts/tree). Sourced,
# not run.

# find_casty_cli ROOT — sets CLI to the casty-cli under test: $CASTY_CLI when set, else the one `swift build` made
# in ROOT; fails the script (after the verdict's traps are set) when there is none.
find_casty_cli() {
    if [ -n "${CASTY_CLI:-}" ]; then
        CLI=$CASTY_CLI
    else
        CLI="$(cd "$1" && swift build --show-bin-path 2>/dev/null)/casty-cli"
    fi
    [ -x "$CLI" ] || { fail "casty-cli not found at $CLI (swift build --product casty-cli, or set CASTY_CLI)"; exit 1; }
}

# now_ms — milliseconds since the epoch (bash's own clock, no fork).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# wait_until TIMEOUT CMD... — run CMD every 0.1 s until it succeeds; fail after TIMEOUT seconds.
wait_until() {
    local timeout=$1 deadline
    shift
    deadline=$(($(now_ms) + timeout * 1000))
    until "$@"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

# file_size FILE — size in bytes (0 when missing).
file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# stop_started — for scripts that record what they start in the array `pids` and work in the folder $TMP:
# `trap stop_started EXIT` stops those processes, waits for them and removes the folder.
stop_started() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "${TMP:?}"
}

# listening PORT — whether something accepts TCP connections on 127.0.0.1:PORT.
listening() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null; }

# serve_directory DIR LOG — serve DIR over HTTP on 127.0.0.1 (python3's http.server) on a port the kernel picks at
# bind time, so it cannot have been taken since it was chosen; sets `served_port`, adds the server to `pids`.
serve_directory() {
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >"$2" 2>&1 &
    pids+=($!)
    wait_until 10 grep -q ' port [0-9]' "$2" || return 1
    served_port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$2" | head -1)
    [ -n "$served_port" ]
}

# log_has FILE REGEX — does FILE contain a line matching the extended REGEX? (NUL bytes, which VLC writes,
# are dropped first.) grep reads to the end rather than `grep -q`: under `set -o pipefail` an early exit of
# grep kills `tr` with SIGPIPE on a log over 64 KB, and the pipeline then fails although the line is there.
log_has() { [ -f "$1" ] && tr -d '\000' <"$1" | grep -E -- "$2" >/dev/null; }

# free_port — a TCP port free on 127.0.0.1 now, the kernel's pick (a script binds it at once; scripts/lib/peers.sh
# has its own, random in 20000–59999, for the peers it starts).
free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/free-port.py"; }

# nginx_config DIR HTTP — writes DIR/nginx.conf for an nginx run in the foreground by an unprivileged test: its
# pid, logs (DIR/error.log, DIR/access.log) and temp files in DIR, and HTTP (server blocks, maps) inside `http {}`.
# Start it with `nginx -c DIR/nginx.conf -p DIR`.
nginx_config() {
    local dir=$1 http=$2
    mkdir -p "$dir/temp"
    cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 256; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
$http
}
CONF
}
