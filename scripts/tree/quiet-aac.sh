#!/usr/bin/env bash
# quiet-aac.sh — a branch of an AAC mount whose source goes silent, across network namespaces (one "host" per
# node on one bridge, private subnet 10.213.0.0/24 inside our namespaces only; its own prefix ctq).
#
#   ctq-root  10.213.0.1   casty-cli root --accept-all; ffmpeg (in the same namespace) publishes AAC at 96 kbit/s
#                          to /live: 4 s of a 440 Hz tone, then silence, on which ffmpeg's AAC encoder spends about
#                          4.5 kbit/s — an 8 KiB relay segment every 15 s instead of every 0.7 s
#   ctq-b1    10.213.0.11  casty-cli branch, relaying /live to a curl listener in its namespace
#
# Asserts:
#   1. through 25 s of the silence the branch keeps its one link to the root (the root logs one branch join, the
#      branch no "upstream lost"), says at most once that its parent's host answers, and its listener stays connected and
#      gets audio at least every 5 s (pieces of the slowly filling segments, not a segment every 15 s);
#   2. the root's eth0 down: the branch gives the link up within 5 s all the same — a path that answers no
#      keepalive probe is gone, quiet stream or not.
# Exit 0 only if all passed. About 40 s. Needs root, iproute2, curl, python3, ffmpeg; CASTY_CLI as netns-test.sh.
# shellcheck disable=SC2317  # functions called through wait_until and check look unreachable to shellcheck
set -euo pipefail
TREE_PREFIX=ctq
TREE_TOOLS="ip curl python3 flock timeout ffmpeg"
# shellcheck source=scripts/tree/lib.sh
. "$(dirname "$0")/lib.sh"
tree_begin

ROOT=$TREE_SUBNET.1:$TREE_PORT
BRANCH=$TREE_SUBNET.11:$TREE_PORT
tree_net_add root "$TREE_SUBNET.1"
tree_net_add b1 "$TREE_SUBNET.11"

tree_start root root casty root --accept-all --source-password quiet-pw --host "$TREE_SUBNET.1" --port "$TREE_PORT" \
    --advertise "$ROOT" --status-every 60
wait_until 10 nsx root curl -s -o /dev/null "http://$ROOT/tree" || { fail "the root does not answer at $ROOT"; exit 1; }
tree_start root ffmpeg ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi \
    -i "aevalsrc='if(lt(t\\,4)\\,0.3*sin(2*PI*440*t)\\,0)':s=44100:c=stereo" -c:a aac -b:a 96k \
    -content_type audio/aac -f adts "icecast://source:quiet-pw@$ROOT/live"
wait_until 10 grep -q "publishing /live" "$TMP/root.log" || { fail "ffmpeg's AAC source did not publish /live"; exit 1; }
tree_start b1 branch casty branch --root "http://$ROOT/" --host "$TREE_SUBNET.11" --port "$TREE_PORT" \
    --advertise "$BRANCH" --status-every 60
wait_until 10 nsx b1 curl -s -o /dev/null "http://$BRANCH/tree" || { fail "the branch does not answer at $BRANCH"; exit 1; }
tree_start b1 listener curl -s -N -o "$TMP/listener.aac" "http://$BRANCH/live"  # -N: written as it comes
LISTENER_PID=$LAST_PID
wait_until 10 grep -q "attached to" "$TMP/branch.log" || { fail "the branch did not attach to the root"; exit 1; }

# --- 1. 25 s of silence --------------------------------------------------------------------------------------
# The listener's file is looked at every half second: during the silence a relay segment takes ~15 s to fill, and
# the listener must get its audio in pieces meanwhile (StreamPiece), not a segment every 15 s.
longest=0; still=0; last=0
for _ in $(seq 50); do
    sleep 0.5
    size=$(stat -c %s "$TMP/listener.aac" 2>/dev/null || echo 0)
    if [ "$size" -gt "$last" ]; then still=0; last=$size; else still=$((still + 500)); fi
    [ "$still" -gt "$longest" ] && longest=$still
done
echo "MEASURE: [tree/quiet-aac] the branch's listener's longest wait for audio during 25 s of AAC silence = $longest ms"
check "through the silence the branch's listener got audio at least every 5 s (longest wait $longest ms; a segment fills in ~15 s)" \
    [ "$longest" -le 5000 ]
lost=$(count_in "$TMP/branch.log" "upstream lost")
joins=$(count_in "$TMP/root.log" "branch .* joined")
answers=$(count_in "$TMP/branch.log" "but the parent's host answers")
check "through 25 s of AAC silence the branch kept its link: $joins join at the root, $lost losses at the branch" \
    bash -c "[ $lost = 0 ] && [ $joins = 1 ]"
# Pieces come a second or so into each slow segment, about when the link's deadline (two segment durations) passes:
# the link may have had to wait for a quiet peer, once, or not at all.
check "the branch said at most once that its parent's host answers ($answers lines): $(grep -m1 "host answers" "$TMP/branch.log" | cut -c1-160)" \
    [ "$answers" -le 1 ]
size=$(stat -c %s "$TMP/listener.aac" 2>/dev/null || echo 0)
check "its listener is still connected and got the relayed segments ($size bytes)" \
    bash -c "kill -0 $LISTENER_PID 2>/dev/null && [ $size -ge 40000 ]"

# --- 2. the path to the root goes away --------------------------------------------------------------------
cut_at=$(now_ms)
ip -n "$(ns root)" link set eth0 down
if wait_until 8 grep -q "upstream lost" "$TMP/branch.log"; then
    after=$(($(now_ms) - cut_at))
    check "with the root's link down the branch gave the link up after $after ms (≤ 5000): $(grep -m1 "upstream lost" "$TMP/branch.log" | cut -c1-140)" \
        [ "$after" -le 5000 ]
else
    fail "with the root's link down the branch kept waiting for 8 s"
fi
ip -n "$(ns root)" link set eth0 up
