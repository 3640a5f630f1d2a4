#!/usr/bin/env bash
# churn.sh [ROUNDS] — memory is returned after every connection (hardening issue, defect 1).
# SERVER=icecast runs the same churn against Icecast 2 fed by ffmpeg instead, for a side-by-side figure.
#
# Starts `casty-cli station` and `casty-cli proxy` in front of it (CASTY_CLI, a release build in CI), warms the
# proxy up (its ring full, 2,000 connections), reads its RSS, then opens and closes ROUNDS connections (default
# 30,000: listeners that leave, /status.json, refused methods, silent peers; scripts/soak/churn.py) and reads
# its RSS again once the header deadline has passed. Asserts the growth is under BOUND_KB (3 MB); prints the
# figures as MEASURE: lines. Before the fix, 30,000 connections added about 20 MB.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"

ROUNDS=${1:-30000}
BOUND_KB=${BOUND_KB:-3072}
CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-churn.XXXXXX)
STATION_PORT=${STATION_PORT:-18700}
PROXY_PORT=${PROXY_PORT:-18701}
pids=()
trap 'stop_started; [ "${SERVER:-casty}" != icecast ] || peers_cleanup' EXIT

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

if [ "${SERVER:-casty}" = icecast ]; then
    # The same churn against Icecast 2 fed by ffmpeg, for a side-by-side figure (scripts/lib/peers.sh).
    # shellcheck source=scripts/lib/peers.sh
    . "$here/../lib/peers.sh"
    chmod 755 "$TMP"  # Icecast drops root for the icecast2 user, who must reach its folder
    icecast_start "$PROXY_PORT" "$TMP/icecast" || exit 1
    source_start "$PROXY_PORT" /live || exit 1
    proxy=$ICECAST_PID
else
    # Small segments (0.125 s each) so that the proxy's ring of 32 fills within a few seconds.
    "$CLI" station --port "$STATION_PORT" --segment-bytes 2048 --title-every 1 >"$TMP/station.log" 2>&1 &
    pids+=($!)
    wait_until 10 listening "$STATION_PORT"
    "$CLI" proxy "http://127.0.0.1:$STATION_PORT/" --port "$PROXY_PORT" --segment-bytes 2048 >"$TMP/proxy.log" 2>&1 &
    proxy=$!
    pids+=("$proxy")
    wait_until 10 listening "$PROXY_PORT"
fi

sleep 6  # the ring fills
python3 "$here/churn.py" "$PROXY_PORT" 2000 >/dev/null
sleep 1
before=$(rss_kb "$proxy")
echo "INFO: proxy RSS after warm-up: $before kB"
python3 "$here/churn.py" "$PROXY_PORT" "$ROUNDS" | sed 's/^/INFO: /'
sleep 16  # past the 15 s header deadline, so nothing a connection made may still be due
after=$(rss_kb "$proxy")
growth=$((after - before))
echo "MEASURE: churn rounds=$ROUNDS rss_before_kb=$before rss_after_kb=$after growth_kb=$growth bytes_per_connection=$((growth * 1024 / ROUNDS))"
kill -0 "$proxy" || { echo "FAIL: the proxy died"; tail -20 "$TMP/proxy.log"; exit 1; }
if ((growth > BOUND_KB)); then
    echo "FAIL: RSS grew by $growth kB over $ROUNDS connections (bound $BOUND_KB kB)"
    exit 1
fi
echo "PASS: RSS grew by $growth kB over $ROUNDS connections (bound $BOUND_KB kB)"
