#!/usr/bin/env bash
# root-restart.sh — a closed tree whose root restarts, across network namespaces (one "host" per node, on one
# bridge, private subnet 10.213.0.0/24 inside our namespaces only; its own prefix ctr, so it may run beside
# netns-test.sh).
#
#   ctr-root  10.213.0.1      casty-cli root --station --tree-key-file …     (and, for one check, a plain HTTP server)
#   ctr-b1…4  10.213.0.11…14  casty-cli branch --eager --tree-key-file …, started one by one: b1 b2 under the root,
#                             b3 b4 under them (depth 2)
#   ctr-lis   10.213.0.100    strangers, dummies, casty-cli tree
#   mpg123 plays one depth-2 leaf from inside its namespace, all through the test.
#
# Asserts:
#   1. a closed tree: a branch request without the key, or with a wrong one, gets 403 and one log line naming the
#      peer, takes no place; the key is in no log; players need no key; `casty-cli tree` shows 5 nodes, depth 2,
#      and on a URL that is not a Casty tree node it exits non-zero;
#   2. SIGKILL of the root, 2 s away, the same root started again (numbering from 0 under a new stream id): every
#      leaf's /tree shows the new stream= and new segments within 2 segment durations of the root answering
#      again (MEASURE: line per leaf); no node drops them as "duplicate or old"; every branch counts the break as
#      gaps=1; the dummies on the leaves stay connected and count one gap, missing=0; mpg123 keeps playing.
# Exit 0 only if all passed. About 25 s. Needs root, iproute2, curl, python3, mpg123; CASTY_CLI as netns-test.sh.
# shellcheck disable=SC2317  # functions called through wait_until and check look unreachable to shellcheck
set -euo pipefail
TREE_PREFIX=ctr
# shellcheck source=scripts/tree/lib.sh
. "$(dirname "$0")/lib.sh"
tree_begin

KEY="ctr-$RANDOM$RANDOM-tree-key"
printf '%s\n' "$KEY" >"$TMP/key"
ROOT=$TREE_SUBNET.1:$TREE_PORT
SEGMENT_MS=512                      # 8192 bytes of the built-in tone at 128 kbit/s
declare -A NS_OF=([$ROOT]=root)
BRANCHES=()
tree_net_add root "$TREE_SUBNET.1"
for i in 1 2 3 4; do
    tree_net_add "b$i" "$TREE_SUBNET.$((10 + i))"
    NS_OF[$TREE_SUBNET.$((10 + i)):$TREE_PORT]="b$i"
    BRANCHES+=("$TREE_SUBNET.$((10 + i)):$TREE_PORT")
done
tree_net_add lis "$TREE_SUBNET.100"

start_root() {
    tree_start root "root$1" casty root --station --title "Restart test" --host "$TREE_SUBNET.1" --port "$TREE_PORT" \
        --advertise "$ROOT" --tree-key-file "$TMP/key" --status-every 60
    ROOT_PID=$LAST_PID
}
start_root 1
wait_until 10 tree_line "$ROOT" >/dev/null || { fail "the root does not answer /tree at $ROOT"; exit 1; }
for i in 1 2 3 4; do
    a=${BRANCHES[$((i - 1))]}
    tree_start "b$i" "b$i" casty branch --root "http://$ROOT/" --host "${a%:*}" --port "$TREE_PORT" --advertise "$a" \
        --eager --tree-key-file "$TMP/key" --status-every 60
    wait_until 10 grep -q "attached to" "$TMP/b$i.log" || { fail "branch b$i ($a) did not attach within 10 s"; exit 1; }
done
_depth_two() { local a n=0; for a in "${BRANCHES[@]}"; do [ "$(field "$(tree_line "$a")" depth)" = 2 ] && n=$((n + 1)); done; [ "$n" = 2 ]; }
wait_until 10 _depth_two || fail "two branches should be at depth 2"
LEAVES=()
for a in "${BRANCHES[@]}"; do [ "$(field "$(tree_line "$a")" depth)" = 2 ] && LEAVES+=("$a"); done
info "leaves: ${LEAVES[*]}"

# --- 1. A closed tree ----------------------------------------------------------------------------------------
# Three strangers (one address asking again is told once, its repeats summed up every 10 minutes).
stranger_port=9
for header in "" "X-Casty-Key: wrong" "X-Casty-Key: ${KEY}x"; do
    stranger_port=$((stranger_port + 1))
    code=$(nsx lis curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "X-Casty-Branch: $TREE_SUBNET.100:$stranger_port" \
        ${header:+-H "$header"} "http://$ROOT/" || true)
    check "a stranger asking for a place ${header:+with a wrong key }${header:-without a key} gets 403 (got $code)" [ "$code" = 403 ]
done
# all CONDITION... — every condition (a string for `test`'s words, split on spaces) holds: for compound checks.
all() { local c; for c in "$@"; do eval "[ $c ]" || return 1; done; }
refusals=$(count_in "$TMP/root1.log" "refused: wrong or missing tree key")
named=$(count_in "$TMP/root1.log" "from $TREE_SUBNET.100:[0-9]+ refused: wrong or missing tree key")
check "the root logged each refusal once, naming the peer ($refusals lines, $named naming $TREE_SUBNET.100)" \
    all "$refusals = 3" "$named = 3"
check "the key is in no log" [ "$(cat "$TMP"/*.log | grep -c -- "$KEY" || true)" = 0 ]
check "the strangers took no place: the root serves b1 and b2 only" \
    [ "$(children_of "$(tree_line "$ROOT")" | wc -l)" = 2 ]
code=$(nsx lis curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$ROOT/" || true)
check "a player needs no key (got ${code:-nothing}; curl stops after 1 s)" [ "$code" = 200 ]
nsx lis "$CLI" tree "http://$ROOT/" >"$TMP/tree.txt" 2>&1 || true
check "casty-cli tree: $(tail -n 1 "$TMP/tree.txt")" grep -q "^5 nodes, depth 2$" "$TMP/tree.txt"
tree_start root http python3 -m http.server --bind "$TREE_SUBNET.1" 8080
HTTP_PID=$LAST_PID
_http_up() { nsx lis curl -s -o /dev/null --max-time 1 "http://$TREE_SUBNET.1:8080/"; }
wait_until 5 _http_up || true
if nsx lis "$CLI" tree "http://$TREE_SUBNET.1:8080/" >"$TMP/tree-http.txt" 2>&1; then
    fail "casty-cli tree on a plain HTTP server exited 0: $(tail -n 2 "$TMP/tree-http.txt" | paste -sd'|')"
else
    pass "casty-cli tree on a plain HTTP server is an error: $(tail -n 1 "$TMP/tree-http.txt")"
fi
tree_stop "$HTTP_PID"

# --- 2. The root restarts ------------------------------------------------------------------------------------
tree_start "${NS_OF[${LEAVES[0]}]}" mpg123 mpg123 -v --no-control -w "$TMP/mpg123.wav" "http://${LEAVES[0]}/"
MPG_PID=$LAST_PID
DUMMIES=()
for a in "${LEAVES[@]}"; do
    tree_start lis "dummy-${NS_OF[$a]}" casty dummy "http://$a/" --count 2 --duration 14
    DUMMIES+=("$LAST_PID")
done
mpg123_frames() { tr '\r' '\n' <"$TMP/mpg123.log" | tr -d '\000' | grep -oE '^> [0-9]+' | tail -n 1 | tr -dc '0-9' || true; }
_playing() { [ "$(mpg123_frames)" -gt 40 ] 2>/dev/null; }
wait_until 10 _playing || fail "mpg123 decoded nothing from ${LEAVES[0]}"
sleep 3
old_stream=$(field "$(tree_line "$ROOT")" stream)
info "the root's stream: $old_stream, next segment $(field "$(tree_line "$ROOT")" next); SIGKILL, 2 s away"
kill -KILL "$ROOT_PID"
sleep 2
declare -A SEGMENTS_BEFORE=()
for a in "${LEAVES[@]}"; do SEGMENTS_BEFORE[$a]=$(field "$(tree_line "$a")" segments); done
frames_before=$(mpg123_frames)
start_root 2
_root_back() { [ -n "$(field "$(tree_line "$ROOT")" stream | tr -d -)" ]; }
wait_until 10 _root_back || { fail "the restarted root does not answer /tree"; exit 1; }
t_back=$(now_ms)
new_stream=$(field "$(tree_line "$ROOT")" stream)
check "the restarted root has a new stream ($old_stream → $new_stream)" [ "$new_stream" != "$old_stream" ]
declare -A BACK_MS=()
_leaves_back() {
    local a line
    for a in "${LEAVES[@]}"; do
        [ -n "${BACK_MS[$a]:-}" ] && continue
        line=$(tree_line "$a")
        if [ "$(field "$line" stream)" = "$new_stream" ] && [ "$(field "$line" segments)" -gt "${SEGMENTS_BEFORE[$a]}" ] 2>/dev/null; then
            BACK_MS[$a]=$(($(now_ms) - t_back))
        fi
    done
    [ "${#BACK_MS[@]}" = "${#LEAVES[@]}" ]
}
wait_until 10 _leaves_back || true
for a in "${LEAVES[@]}"; do
    ms=${BACK_MS[$a]:-}
    echo "MEASURE: root restart: leaf $a plays the new stream ${ms:-never} ms after the root answers again (segment $SEGMENT_MS ms)"
    check "leaf $a has the new stream's segments within 2 segment durations (${ms:-never} ms ≤ $((2 * SEGMENT_MS)) ms)" \
        all "${ms:-99999} -le $((2 * SEGMENT_MS))"
done
sleep 3
for a in "${BRANCHES[@]}"; do
    line=$(tree_line "$a")
    check "$a counts the break as one gap: stream=$(field "$line" stream) gaps=$(field "$line" gaps) missing=$(field "$line" missing)" \
        all "$(field "$line" stream) = $new_stream" "$(field "$line" gaps) = 1"
    check "${NS_OF[$a]} dropped no segment as duplicate or old" [ "$(count_in "$TMP/${NS_OF[$a]}.log" "duplicate or old")" = 0 ]
    grep -E "new stream|attached to|upstream lost" "$TMP/${NS_OF[$a]}.log" | tail -n 3 | sed "s/^/    ${NS_OF[$a]}: /" || true
done
frames=$(($(mpg123_frames) - frames_before))
playing=$(alive "$MPG_PID" && echo yes || echo no)
check "mpg123 kept playing ${LEAVES[0]} across the restart (alive: $playing, $frames frames since)" all "$playing = yes" "$frames -gt 100"
for p in "${DUMMIES[@]}"; do wait "$p" 2>/dev/null || true; done
for a in "${LEAVES[@]}"; do
    s=$(dummy_summary "$TMP/dummy-${NS_OF[$a]}.log")
    check "dummies on $a stayed connected and count the break as one gap each: $s" \
        all "$(field "$s" connected) = 2/2" "$(field "$s" missing) = 0" "$(field "$s" gaps) = 2"
done
exit 0
