#!/usr/bin/env bash
# scripts/bench/accept-path.sh — where a new player's time goes at 10,000 connections a second: header latency,
# and the CPU and run-queue wait of the accepting loop's thread and of the load generator, per run.
#
#     swift build -c release --product casty-bench
#     bash scripts/bench/accept-path.sh                              # 5 runs, 10,000 players at 10,000/s, --loops 2
#     RUNS=9 COUNT=19000 bash scripts/bench/accept-path.sh --loops 2 --burst 0   # options go to `casty-bench serve`
#     OTHER=/path/to/other/casty-bench bash scripts/bench/accept-path.sh         # alternate with another build
#
# Each run starts `casty-bench serve` (the built-in station on one port; the options given, `--loops 2` by
# default) and one `casty-bench loadgen` that connects COUNT players at RATE a second. Before and 2.5 s after
# the load generator starts (the ramp and a little streaming), it reads `/proc/<pid>/task/<tid>/schedstat` of the
# serve process's `casty-loop` thread (the loop that accepts, reads requests and writes reply heads) and of the
# load generator: time run, time waited runnable for a core. With OTHER, each run is made with both builds, in
# turn, so that the machine's load falls on both alike. Prints one line per run and build; compare medians.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BENCH=${CASTY_BENCH:-$here/../../.build/release/casty-bench}
RUNS=${RUNS:-5}
COUNT=${COUNT:-10000}
RATE=${RATE:-10000}
[ $# -gt 0 ] || set -- --loops 2
[ -x "$BENCH" ] || { echo "accept-path: no $BENCH (swift build -c release --product casty-bench)" >&2; exit 1; }
work=$(mktemp -d /tmp/casty-accept-path.XXXXXX)
trap 'rm -rf "$work"' EXIT

# run BENCH LABEL ARGS…: one run against one build.
run() {
    local bench=$1 label=$2
    shift 2
    mkfifo "$work/serve.in" "$work/loadgen.in"
    "$bench" serve --port 0 "$@" < "$work/serve.in" > "$work/serve.out" 2> "$work/serve.err" &
    local serve=$!
    exec 8> "$work/serve.in"
    local port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$work/serve.out" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "accept-path: serve did not start" >&2; cat "$work/serve.err" >&2; exit 1; }
    sleep 2
    local thread=""
    for task in "/proc/$serve/task/"*; do [ "$(cat "$task/comm")" = casty-loop ] && thread=$task; done
    local r0 w0 n0 r1 w1 n1 lr0 lw0 lr1 lw1
    read -r r0 w0 n0 < "$thread/schedstat"
    "$bench" loadgen --port "$port" --count "$COUNT" --rate "$RATE" < "$work/loadgen.in" > "$work/loadgen.out" &
    local loadgen=$!
    exec 9> "$work/loadgen.in"
    read -r lr0 lw0 _ < "/proc/$loadgen/schedstat"
    sleep 2.5
    read -r lr1 lw1 _ < "/proc/$loadgen/schedstat"
    read -r r1 w1 n1 < "$thread/schedstat"
    sleep 1
    echo quit >&9
    exec 9>&-
    wait "$loadgen" || true
    exec 8>&-
    wait "$serve" 2>/dev/null || true
    rm -f "$work/serve.in" "$work/loadgen.in"
    local heads
    heads=$(grep -o "header_p50_us=[0-9]* header_p99_us=[0-9]*" "$work/loadgen.out" || echo "no ready line")
    echo "$label $heads accepting: run_ms=$(( (r1 - r0) / 1000000 )) wait_ms=$(( (w1 - w0) / 1000000 ))" \
        "wakeups=$(( n1 - n0 )) loadgen: run_ms=$(( (lr1 - lr0) / 1000000 )) wait_ms=$(( (lw1 - lw0) / 1000000 ))"
}

for round in $(seq "$RUNS"); do
    run "$BENCH" "run $round this:" "$@"
    if [ -n "${OTHER:-}" ]; then run "$OTHER" "run $round other:" "$@"; fi
done
