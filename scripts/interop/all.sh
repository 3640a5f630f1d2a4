#!/usr/bin/env bash
# all.sh — run every interop scenario against both upstreams (Icecast 2 + ffmpeg, and casty-cli station),
# one after the other, and print one line per run. Exits non-zero when any run failed. The same runs make up
# `swift test --filter InteropTests` (Tests/CastyTests/InteropTests.swift).
# Usage: scripts/interop/all.sh            (CASTY_CLI=/path/to/casty-cli to test another build)
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
failed=0
for script in players outage slow-listener; do
    for upstream in icecast station; do
        start=$SECONDS
        if bash "$DIR/$script.sh" "$upstream"; then
            echo "=== $script $upstream: passed in $((SECONDS - start)) s"
        else
            echo "=== $script $upstream: FAILED after $((SECONDS - start)) s"
            failed=1
        fi
    done
done
exit "$failed"
