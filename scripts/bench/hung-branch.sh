#!/usr/bin/env bash
# scripts/bench/hung-branch.sh — how long a root keeps a branch that hangs: a `casty-cli root --station` and one
# `casty-cli branch --eager` on loopback; after 6 s the branch is stopped with SIGSTOP (its process frozen, its
# kernel still taking bytes until its receive buffer is full) and the seconds until the root logs the branch
# dropped (or gone) are printed. RUNS runs (default 3), each with fresh processes.
#
#     CASTY_CLI=/path/to/casty-cli bash scripts/bench/hung-branch.sh
#
# Needs python3 (a free port) and bc.
set -euo pipefail
CASTY_CLI="${CASTY_CLI:?set CASTY_CLI to a casty-cli binary}"
RUNS="${RUNS:-3}"
TMP=$(mktemp -d /tmp/casty-hung.XXXXXX)
trap 'kill -CONT $(jobs -p) 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"   # free_port

for run in $(seq 1 "$RUNS"); do
    root_port=$(free_port); branch_port=$(free_port)
    "$CASTY_CLI" root --station --host 127.0.0.1 --port "$root_port" --advertise "127.0.0.1:$root_port" >"$TMP/root.log" 2>&1 &
    root=$!
    sleep 1
    "$CASTY_CLI" branch --root "http://127.0.0.1:$root_port/" --host 127.0.0.1 --port "$branch_port" \
        --advertise "127.0.0.1:$branch_port" --eager >"$TMP/branch.log" 2>&1 &
    branch=$!
    sleep 6
    kill -STOP "$branch"
    start=$(date +%s.%N)
    line=""
    for _ in $(seq 1 240); do
        line=$(grep -m1 -E "branch [0-9.:]+ (from [0-9.:]+ )?(dropped|left after)" "$TMP/root.log" || true)
        [ -n "$line" ] && break
        sleep 0.25
    done
    end=$(date +%s.%N)
    printf 'run %d: the root let the stopped branch go after %.1f s: %s\n' "$run" "$(echo "$end - $start" | bc)" "${line:-(not within 60 s)}"
    kill -CONT "$branch"; kill "$branch" "$root"; wait "$branch" "$root" 2>/dev/null || true
done
