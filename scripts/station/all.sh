#!/usr/bin/env bash
# all.sh [casty|icecast]... — run every scripts/station/ scenario against each target (default: icecast, then
# casty) and print one line per run. Exits non-zero when any run failed. Until `casty-cli server` exists
# (issue 11) the casty runs fail; the icecast runs prove the scripts' own checks against the real Icecast 2.
# Usage: scripts/station/all.sh [casty|icecast]...   (CASTY_CLI=/path/to/casty-cli to test another build)
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(icecast casty)
failed=0
for script in publish branch refusals fallback ezstream liquidsoap srt rtmp; do
    for target in "${targets[@]}"; do
        start=$SECONDS
        if bash "$DIR/$script.sh" "$target"; then
            echo "=== $script $target: passed in $((SECONDS - start)) s"
        else
            echo "=== $script $target: FAILED after $((SECONDS - start)) s"
            failed=1
        fi
    done
done
exit "$failed"
