#!/usr/bin/env bash
# uplink-outage.sh — a branch loses its uplink for DOWN seconds (default 6: 12 segments, well inside the parent's
# ring of 32) while its own players, on the same host, stay connected to it. When the link comes back the branch
# re-attaches with X-Casty-Resume and its parent replays what it missed; the players must then get every segment,
# none skipped and none twice (Branch.swift: "the branch's own listeners see no gap and no duplicate").
#
#   cuo-root 10.213.0.1   casty-cli root --station          cuo-b1 10.213.0.11   casty-cli branch --eager,
#                                                            and on the same host: mpg123 -v and casty-cli dummy
#                                                            --count 2, both playing http://10.213.0.11:8000/
# Asserts: the branch repairs; the dummies' summary shows gaps=0 missing=0; the branch's log shows 0 skipped for
# every listener; mpg123 met no broken MPEG data (no "Illegal Audio-MPEG-Header"/resync/"Frankenstein").
# Not run by `swift test` (netns-test.sh is); about 30 s. Needs root, iproute2, python3, mpg123, curl.
# shellcheck disable=SC2317  # functions called through wait_until and check look unreachable to shellcheck
set -euo pipefail
TREE_PREFIX=cuo
# shellcheck source=scripts/tree/lib.sh
. "$(dirname "$0")/lib.sh"
tree_begin

DOWN=${DOWN:-6}
tree_net_add root "$TREE_SUBNET.1"
tree_net_add b1 "$TREE_SUBNET.11"
tree_net_add lis "$TREE_SUBNET.100"
tree_start root root casty root --station --host "$TREE_SUBNET.1" --port 8000 --advertise "$TREE_SUBNET.1:8000"
_root_up() { [ "$(field "$(tree_line "$TREE_SUBNET.1:8000")" segments)" -ge 2 ] 2>/dev/null; }
wait_until 10 _root_up || { fail "the root did not start"; exit 1; }
tree_start b1 b1 casty branch --root "http://$TREE_SUBNET.1:8000/" --host "$TREE_SUBNET.11" --port 8000 \
    --advertise "$TREE_SUBNET.11:8000" --eager
wait_until 10 grep -q "attached to" "$TMP/b1.log" || { fail "the branch did not attach"; exit 1; }
tree_start b1 mpg123 mpg123 -v --no-control -w "$TMP/mpg123.wav" "http://$TREE_SUBNET.11:8000/"
MPG=$LAST_PID
tree_start b1 dummy casty dummy "http://$TREE_SUBNET.11:8000/" --count 2 --duration $((DOWN + 12))
DUMMY=$LAST_PID
sleep 4
ip -n "$(ns b1)" link set eth0 down
info "eth0 of $(ns b1) down for $DOWN s"
sleep "$DOWN"
ip -n "$(ns b1)" link set eth0 up
info "eth0 of $(ns b1) up"
if wait_until 10 grep -q "repaired in" "$TMP/b1.log"; then
    pass "the branch repaired: $(grep "repaired in" "$TMP/b1.log" | tail -n 1 | cut -d' ' -f2-)"
else
    fail "the branch did not repair within 10 s of the link coming up"
fi
for ((i = 0; i < 200; i++)); do alive "$DUMMY" || break; sleep 0.1; done
tree_stop "$MPG"     # mpg123 leaves now, so that the branch logs what it skipped for it
sleep 0.5
s=$(dummy_summary "$TMP/dummy.log")
_clean() { [ "$(field "$s" gaps)" = 0 ] && [ "$(field "$s" missing)" = 0 ] && [ "$(field "$s" connected)" = 2/2 ]; }
check "the dummies on the branch's host got every segment, none twice: $s" _clean
grep -E "listener .* left" "$TMP/b1.log" | sed 's/^/    /' || true
skipped=$(grep -E "listener .* left" "$TMP/b1.log" | grep -oE '[0-9]+ skipped' | awk '{ s += $1 } END { print s + 0 }')
check "the branch skipped no segment for its listeners ($skipped skipped)" [ "$skipped" -eq 0 ]
broken=$(tr '\r' '\n' <"$TMP/mpg123.log" | tr -d '\000' | grep -E 'Illegal Audio-MPEG-Header|Trying to resync|Frankenstein' || true)
check "mpg123 on the branch's host met no broken MPEG data${broken:+: ${broken//$'\n'/ | }}" [ -z "$broken" ]
exit 0
