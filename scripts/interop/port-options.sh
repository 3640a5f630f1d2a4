#!/usr/bin/env bash
# port-options.sh — every command that listens takes --trusted-proxy and --cors-origins (Sources/casty-cli/
# PortOptions.swift), not only `server`: the edge nodes listeners reach through TLS and CDNs are `branch`,
# `proxy` and `station`.
#
# Asserts: `--help` of proxy, station, branch and server documents both options; a --trusted-proxy that is not an
# address is a usage mistake there (status 1, one line naming it); a running station, a proxy relaying it and a
# branch under a root believe X-Forwarded-For from a trusted proxy (read from the right past the trusted ones: the
# log names the client), and name only the listed origin in Access-Control-Allow-Origin.
# Exit 0 only if all passed. About 10 s; needs python3 and curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-port-options.XXXXXX)
pids=()
trap stop_started EXIT

for command in proxy station branch server; do
    "$CLI" "$command" --help >"$TMP/help.txt" 2>&1 || true
    for option in --trusted-proxy --cors-origins; do
        documents() { grep -qE -- "^ +$option " "$TMP/help.txt"; }
        check "$command --help documents $option" documents
    done
done

# refuses COMMAND ARGS... — `casty-cli COMMAND ARGS… --trusted-proxy nowhere` exits 1 and its first line names it.
refuses() {
    local rc=0
    timeout 10 "$CLI" "$@" --port "$(free_port)" --trusted-proxy nowhere </dev/null >"$TMP/out.log" 2>&1 || rc=$?
    if [ "$rc" = 1 ] && head -1 "$TMP/out.log" | grep -qF -- "--trusted-proxy takes addresses or ranges"; then
        pass "$1 --trusted-proxy nowhere: status 1, $(head -1 "$TMP/out.log" | cut -c1-120)"
    else
        fail "$1 --trusted-proxy nowhere: status $rc (expected 1): $(head -2 "$TMP/out.log" | tr '\n' ' ' | cut -c1-300)"
    fi
}
refuses proxy http://127.0.0.1:9/
refuses station
refuses branch --root http://127.0.0.1:9/

# An origin not an origin (a path) is a usage mistake too; `*` allows any.
rc=0
timeout 10 "$CLI" station --port "$(free_port)" --cors-origins https://radio.example/player </dev/null >"$TMP/out.log" 2>&1 || rc=$?
cors_refused() { [ "$rc" = 1 ] && head -1 "$TMP/out.log" | grep -qF -- "--cors-origins takes * or origins"; }
check "station --cors-origins https://radio.example/player: status 1, one line naming it" cors_refused
# A wildcard matches no origin a browser sends, and * in a list would allow every site: both are mistakes said at once.
for origins in 'https://*.example.com' '*,https://radio.example'; do
    rc=0
    timeout 10 "$CLI" station --port "$(free_port)" --cors-origins "$origins" </dev/null >"$TMP/out.log" 2>&1 || rc=$?
    cors_wildcard() { [ "$rc" = 1 ] && head -1 "$TMP/out.log" | grep -qE -- "--cors-origins: .*(without wildcards|given alone)"; }
    check "station --cors-origins '$origins': status 1, one line saying why" cors_wildcard
done

# `null` is an origin any site can give its pages (a sandboxed iframe, a data: URL): taken, with one warning line.
NULL_PORT=$(free_port)
"$CLI" station --port "$NULL_PORT" --cors-origins null --no-hls --loops 0 </dev/null >"$TMP/null.log" 2>&1 &
null_pid=$!
pids+=("$null_pid")
wait_until 15 listening "$NULL_PORT"
kill "$null_pid"
null_warned() { [ "$(grep -c -- "warning: --cors-origins null lets in every page whose origin is null" "$TMP/null.log")" = 1 ]; }
check "station --cors-origins null: one warning line, what it lets in ($(grep -m1 -- "--cors-origins null" "$TMP/null.log" | cut -c10-90))" null_warned

# The origin as a person may write it (capitals, the default port, a trailing slash): browsers send
# `Origin: https://radio.example`, and it must match.
EDGE=(--trusted-proxy 127.0.0.1,198.18.0.0/15 --cors-origins 'https://Radio.Example:443/' --no-hls --loops 0)

# serves NAME PORT LOG — NAME listens on PORT and plays: a player behind the trusted CDN (198.18.4.2) and nginx
# (127.0.0.1) is logged as 203.0.113.7, and only https://radio.example is allowed to read the stream from scripts.
serves() {
    local name=$1 port=$2 log=$3
    up() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/status.json"; }
    check "$name listens on $port" wait_until 15 up
    curl -s -o /dev/null --max-time 2 -H "X-Forwarded-For: 203.0.113.7, 198.18.4.2" "http://127.0.0.1:$port/" || true
    logged() { log_has "$log" "listener 203\.0\.113\.7 \(via 127\.0\.0\.1:[0-9]+\) .*joined"; }
    check "$name logs the player behind the CDN and nginx under its own address" wait_until 5 logged
    curl -s -D "$TMP/$name-allowed.hdr" -o /dev/null --max-time 2 -H "Origin: https://radio.example" \
        "http://127.0.0.1:$port/status.json" || true
    allowed() { grep -qi "^Access-Control-Allow-Origin: https://radio.example" "$TMP/$name-allowed.hdr"; }
    check "$name allows the listed origin" allowed
    curl -s -D "$TMP/$name-other.hdr" -o /dev/null --max-time 2 -H "Origin: https://elsewhere.example" \
        "http://127.0.0.1:$port/status.json" || true
    refused() { ! grep -qi "^Access-Control-Allow-Origin" "$TMP/$name-other.hdr"; }
    check "$name names no other origin" refused
}

station=$(free_port)
"$CLI" station --host 127.0.0.1 --port "$station" "${EDGE[@]}" </dev/null >"$TMP/station.log" 2>&1 &
pids+=("$!")
serves station "$station" "$TMP/station.log"

proxy=$(free_port)
"$CLI" proxy "http://127.0.0.1:$station/" --host 127.0.0.1 --port "$proxy" "${EDGE[@]}" </dev/null >"$TMP/proxy.log" 2>&1 &
pids+=("$!")
serves proxy "$proxy" "$TMP/proxy.log"

root=$(free_port)
"$CLI" root --station --host 127.0.0.1 --port "$root" --no-hls --loops 0 </dev/null >"$TMP/root.log" 2>&1 &
pids+=("$!")
branch=$(free_port)
"$CLI" branch --root "http://127.0.0.1:$root/" --host 127.0.0.1 --port "$branch" "${EDGE[@]}" </dev/null >"$TMP/branch.log" 2>&1 &
pids+=("$!")
serves branch "$branch" "$TMP/branch.log"

if ((failures > 0)); then
    for log in "$TMP"/*.log; do echo "--- $log"; tail -15 "$log"; done
    exit 1
fi
