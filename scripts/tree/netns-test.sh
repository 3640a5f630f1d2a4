#!/usr/bin/env bash
# netns-test.sh — the distribution tree across separate hosts: every node in its own Linux network namespace,
# all on one bridge (private subnet 10.213.0.0/24, given only inside our namespaces), listeners on the leaves.
#
#   ctt-root  10.213.0.1      casty-cli root --station --title-every 3, --advertise 10.213.0.1:8000
#   ctt-b1…7  10.213.0.11…17  casty-cli branch --eager, each --advertise <its address>:8000, started one by one
#   ctt-b8    10.213.0.18     an 8th branch, started after the repairs
#   ctt-lis   10.213.0.100    the network listeners: casty-cli dummy, curl captures, casty-cli tree
#   mpg123 runs inside the namespace of a depth-3 leaf and plays that leaf all through the test (-v, to a WAV).
#
# Asserts:
#   1. the tree: 8 nodes reached from the root through children=, no node with more than 2 branches, every
#      child's parent= is the node that lists it, depth 3 (= ⌈log2(7+1)⌉), `casty-cli tree` says "8 nodes, depth 3";
#   2. raw captures (curl -H 'X-Casty-Numbered: 1' -H 'Icy-MetaData: 1', 5 s, parsed by icycap.py) at every leaf:
#      contiguous CastySeq numbers, every two leaves hold the same audio bytes (SHA-1 per segment) and the same
#      title for each segment they both hold, each leaf sees the title change; mpg123 prints the new titles;
#   3. SIGKILL of the depth-1 branch above the depth-3 leaf: its branches re-attach (log "attached to"), the tree
#      read again is right (≤ 2 branches per node, parents agree, depth ≤ 3); dummies on every descendant and
#      a control leaf and a raw capture at the depth-3 leaf show gaps=0 missing=0, no duplicate, no disconnect;
#      mpg123 keeps decoding at real time with no broken MPEG data (no resync: nothing skipped on its way);
#   4. eth0 of an interior branch above mpg123's leaf, inside its namespace, down for LINK_DOWN_SECONDS (2) s,
#      then up: the branch and its branches re-attach; the dummies on its descendants, dummies on its own host
#      (over loopback: not cut off, they wait and must get the replay whole) and the raw capture show no gap and
#      no duplicate; its /tree shows gaps=0 missing=0; mpg123 keeps decoding with no broken data; tree right;
#   5. an 8th branch joins the repaired tree: it attaches and the tree is still right — ≤ 2 branches per node
#      counted both by each node's children= and by the branches whose parent= names it; depth ≤ 3;
#   6. at the end every live node's /tree shows gaps=0 missing=0 and mpg123 is still playing.
# Prints PASS:/FAIL:/INFO: lines, the tree and the branches' repair log lines; on failure the logs of every node
# and listener. Exit 0 only if all passed. About 35 s. Needs root, iproute2, curl, python3, mpg123; CASTY_CLI
# (else `swift build --show-bin-path`/casty-cli). TREE_KEEP=1 keeps the logs; LINK_DOWN_SECONDS=8 stresses repair.
# shellcheck disable=SC2317  # functions called through wait_until and check look unreachable to shellcheck
set -euo pipefail
TREE_PREFIX=ctt
# shellcheck source=scripts/tree/lib.sh
. "$(dirname "$0")/lib.sh"
tree_begin

BRANCHES=7
PCM_PER_SECOND=176400        # mpg123's WAV: 44.1 kHz, 16-bit stereo (read from the WAV header when it can)
DUMMY_COUNT=2                # listeners per dummy process
LINK_DOWN_SECONDS=${LINK_DOWN_SECONDS:-2}   # how long the interior branch's link stays down
# Each failure phase: dummies and a raw capture run this long, the failure comes 2.5 s in.
PHASE_SECONDS=$((LINK_DOWN_SECONDS + 8 > 10 ? LINK_DOWN_SECONDS + 8 : 10))
ROOT=$TREE_SUBNET.1:$TREE_PORT
declare -A NS_OF=()          # address → namespace name
declare -A PID_OF=()         # address → casty-cli pid
BRANCH_ADDRESSES=()

# --- The network: a bridge, the root, 7 branches, the listeners ------------------------------------------
tree_net_add root "$TREE_SUBNET.1"
NS_OF[$ROOT]=root
for ((i = 1; i <= BRANCHES; i++)); do
    tree_net_add "b$i" "$TREE_SUBNET.$((10 + i))"
    NS_OF[$TREE_SUBNET.$((10 + i)):$TREE_PORT]="b$i"
    BRANCH_ADDRESSES+=("$TREE_SUBNET.$((10 + i)):$TREE_PORT")
done
LATE=$TREE_SUBNET.18:$TREE_PORT      # an 8th branch that joins after both repairs
tree_net_add b8 "$TREE_SUBNET.18"
NS_OF[$LATE]=b8
tree_net_add lis "$TREE_SUBNET.100"
info "namespaces: $(_our_namespaces | paste -sd' ')"

# --- The root: the station with a title every 3 s ----------------------------------------------------------
tree_start root root casty root --station --title "Tree test" --title-every 3 --host "$TREE_SUBNET.1" \
    --port "$TREE_PORT" --advertise "$ROOT" --status-every 60
PID_OF[$ROOT]=$LAST_PID
if ! wait_until 10 tree_line "$ROOT" >/dev/null; then fail "the root does not answer /tree at $ROOT"; exit 1; fi
_root_has_segments() { [ "$(field "$(tree_line "$ROOT")" segments)" -ge 2 ] 2>/dev/null; }
wait_until 10 _root_has_segments || { fail "the root has no segments after 10 s"; exit 1; }

# --- The branches, one at a time, each waiting for its place -----------------------------------------------
t_start=$(now_ms)
for ((i = 1; i <= BRANCHES; i++)); do
    address=$TREE_SUBNET.$((10 + i)):$TREE_PORT
    tree_start "b$i" "b$i" casty branch --root "http://$ROOT/" --host "$TREE_SUBNET.$((10 + i))" --port "$TREE_PORT" \
        --advertise "$address" --eager --status-every 60
    PID_OF[$address]=$LAST_PID
    if ! wait_until 10 grep -q "attached to" "$TMP/b$i.log"; then
        fail "branch b$i ($address) did not attach within 10 s"
        exit 1
    fi
done
info "7 branches attached in $(($(now_ms) - t_start)) ms"
sleep 1

# --- 1. The tree -----------------------------------------------------------------------------------------------
read_tree "$ROOT" "${BRANCH_ADDRESSES[@]}"
echo "casty-cli tree http://$ROOT/ (from $(ns lis)):"
nsx lis timeout 10 "$CLI" tree "http://$ROOT/" | sed 's/^/    /' | tee "$TMP/tree-1.txt"
print_tree
tree_shape "$ROOT" "${BRANCH_ADDRESSES[@]}"
if [ -z "$TREE_PROBLEMS" ] && [ "$TREE_REACHED" -eq $((BRANCHES + 1)) ]; then
    pass "tree: all $TREE_REACHED nodes reached from the root, ≤ 2 branches each, every parent= agrees with its parent's children="
else
    fail "tree: $TREE_REACHED of $((BRANCHES + 1)) nodes reached; ${TREE_PROBLEMS//$'\n'/; }"
fi
check "tree depth $TREE_DEPTH = 3 = ⌈log2($BRANCHES+1)⌉ (casty-cli tree: '$(tail -n1 "$TMP/tree-1.txt")')" \
    [ "$TREE_DEPTH" -eq 3 ]
check "casty-cli tree prints '8 nodes, depth 3'" grep -q '^ *8 nodes, depth 3$' "$TMP/tree-1.txt"

LEAVES=()
for a in "${BRANCH_ADDRESSES[@]}"; do
    [ -z "$(children_of "${TREE_LINES[$a]:-}")" ] && LEAVES+=("$a")
done
# The interior branch to kill: at depth 1 with a grandchild; the leaf for mpg123: a depth-3 leaf below it.
KILL=""
LEAF3=""
for a in "${BRANCH_ADDRESSES[@]}"; do
    [ "$(field "${TREE_LINES[$a]:-}" depth)" = 3 ] || continue
    [ -z "$(children_of "${TREE_LINES[$a]}")" ] || continue
    top=$(ancestors "$a" | tail -n 2 | head -n 1)   # the depth-1 ancestor
    KILL=$top
    LEAF3=$a
    break
done
if [ -z "$KILL" ] || [ -z "$LEAF3" ]; then fail "no depth-3 leaf under a depth-1 branch: cannot go on"; exit 1; fi
info "leaves: ${LEAVES[*]}; to be killed: $KILL (${NS_OF[$KILL]}); mpg123 on the depth-3 leaf $LEAF3 (${NS_OF[$LEAF3]})"

# --- mpg123 inside the leaf's namespace, playing the leaf, all through the test ----------------------------
tree_start "${NS_OF[$LEAF3]}" mpg123 mpg123 -v --no-control -w "$TMP/mpg123.wav" "http://$LEAF3/"
MPG_PID=$LAST_PID
_wav_over() { [ "$(file_size "$TMP/mpg123.wav")" -gt "$1" ]; }
if wait_until 10 _wav_over $((PCM_PER_SECOND / 2)); then
    rate=$(od -An -t u4 -j 28 -N 4 "$TMP/mpg123.wav" 2>/dev/null | tr -d ' ')
    [ "${rate:-0}" -gt 0 ] 2>/dev/null && PCM_PER_SECOND=$rate
    pass "mpg123 in $(ns "${NS_OF[$LEAF3]}") decodes the leaf $LEAF3 ($PCM_PER_SECOND bytes of PCM per second)"
else
    fail "mpg123 in $(ns "${NS_OF[$LEAF3]}") decoded nothing from $LEAF3 within 10 s"
fi

# --- 2. Same segments, same bytes, same titles at every leaf --------------------------------------------------
cap_pids=()
for a in "${LEAVES[@]}"; do
    n=${NS_OF[$a]}
    nsx lis curl -s -H 'X-Casty-Numbered: 1' -H 'Icy-MetaData: 1' --max-time 5 -D "$TMP/cap-$n.hdr" \
        -o "$TMP/cap-$n.bin" "http://$a/" 9>&- &
    cap_pids+=($!)
    TREE_PIDS+=($!)
done
for p in "${cap_pids[@]}"; do wait "$p" || true; done
tree_stop "${cap_pids[@]}"
compare_args=()
title_seen=0
for a in "${LEAVES[@]}"; do
    n=${NS_OF[$a]}
    s=$(python3 "$TREE_DIR/icycap.py" summary "$TMP/cap-$n.hdr" "$TMP/cap-$n.bin" 2>&1 || true)
    info "capture at leaf $a ($n): $s"
    compare_args+=("$n=$TMP/cap-$n.hdr:$TMP/cap-$n.bin")
    if [[ "$s" == *" gaps=0 missing=0 dups=0 "* ]] && [ "$(field "$s" numbered)" -ge 8 ] 2>/dev/null; then
        pass "capture at leaf $a: $(field "$s" numbered) numbered segments, contiguous ($(field "$s" first)..$(field "$s" last))"
    else
        fail "capture at leaf $a: $s"
    fi
    titles=${s##*titles=}
    if [[ "$titles" == *"|"* ]]; then
        title_seen=$((title_seen + 1))
    else
        fail "capture at leaf $a shows no title change (titles: $titles)"
    fi
done
[ "$title_seen" -eq "${#LEAVES[@]}" ] && pass "a title change at the source reached every leaf (${#LEAVES[@]} of ${#LEAVES[@]} captures show it)"
if out=$(python3 "$TREE_DIR/icycap.py" compare --min-overlap=6 "${compare_args[@]}" 2>&1); then
    echo "    ${out//$'\n'/$'\n'    }"
    pass "every two leaves: the same CastySeq numbers carry the same audio bytes and the same title"
else
    echo "    ${out//$'\n'/$'\n'    }"
    fail "leaves differ (or overlap in fewer than 6 segments)"
fi

# phase_dummies NAME SECONDS ADDRESS... — one casty-cli dummy (--count DUMMY_COUNT) per address, in lis.
declare -A DUMMY_LOG=()
DUMMY_PIDS=()
phase_dummies() {
    local name=$1 seconds=$2 a
    shift 2
    DUMMY_PIDS=()
    for a in "$@"; do
        tree_start lis "dummy-$name-${NS_OF[$a]}" casty dummy "http://$a/" --count "$DUMMY_COUNT" --duration "$seconds"
        DUMMY_PIDS+=("$LAST_PID")
        DUMMY_LOG[$name-$a]="$TMP/dummy-$name-${NS_OF[$a]}.log"
    done
}
# check_dummies NAME SECONDS ADDRESS... — after they ended: all connected, enough segments, no gap.
check_dummies() {
    local name=$1 seconds=$2 a s p least
    shift 2
    for p in "${DUMMY_PIDS[@]}"; do
        for ((i = 0; i < 100; i++)); do alive "$p" || break; sleep 0.1; done
        wait "$p" 2>/dev/null || true
    done
    least=$((DUMMY_COUNT * (seconds * 2 - 4)))
    for a in "$@"; do
        s=$(dummy_summary "${DUMMY_LOG[$name-$a]}")
        if [ "$(field "$s" connected)" = "$DUMMY_COUNT/$DUMMY_COUNT" ] && [ "$(field "$s" gaps)" = 0 ] &&
            [ "$(field "$s" missing)" = 0 ] && [ "$(field "$s" segments)" -ge "$least" ] 2>/dev/null; then
            pass "$name: dummies on $a (${NS_OF[$a]}) kept playing with no gap and no duplicate: $s"
        else
            fail "$name: dummies on $a (${NS_OF[$a]}): $s (want connected=$DUMMY_COUNT/$DUMMY_COUNT gaps=0 missing=0 segments≥$least)"
        fi
    done
}
# mpg123_frames — MPEG frames mpg123 has decoded so far (its -v progress lines "> FRAME+LEFT  time …").
mpg123_frames() { tr '\r' '\n' <"$TMP/mpg123.log" | tr -d '\000' | grep -oE '^> [0-9]+' | tail -n 1 | tr -dc '0-9' || true; }
# mpg123_broken — how often mpg123 met broken MPEG data (a splice where segments were skipped) so far.
mpg123_broken() { tr '\r' '\n' <"$TMP/mpg123.log" | tr -d '\000' | grep -cE 'Illegal Audio-MPEG-Header|Trying to resync|Frankenstein' || true; }
# mpg123_progress SINCE_FRAMES SINCE_MS SINCE_BROKEN WHAT — mpg123 alive, decoding at ≥ half real time since
# then (an MPEG-1 Layer III frame is 1152 samples at 44.1 kHz: 26.1 ms), and no broken MPEG data since then.
mpg123_progress() {
    local frames=$(($(mpg123_frames) - $1)) ms=$(($(now_ms) - $2)) broken=$(($(mpg123_broken) - $3)) seconds wall
    seconds=$(awk -v f="$frames" 'BEGIN { printf "%.1f", f * 1152 / 44100 }')
    wall=$(awk -v m="$ms" 'BEGIN { printf "%.1f", m / 1000 }')
    if alive "$MPG_PID" && ((frames * 1152 * 1000 * 2 >= ms * 44100)); then
        pass "$4: mpg123 on $LEAF3 kept decoding: $seconds s of audio ($frames frames) in $wall s"
    else
        fail "$4: mpg123 on $LEAF3 decoded $seconds s of audio ($frames frames) in $wall s (alive: $(alive "$MPG_PID" && echo yes || echo no))"
    fi
    if ((broken == 0)); then
        pass "$4: mpg123 met no broken MPEG data (no resync: no segment was skipped on its way)"
    else
        fail "$4: mpg123 met broken MPEG data $broken times (a splice: segments were skipped): $(tr '\r' '\n' <"$TMP/mpg123.log" | grep -E 'Illegal|resync|Skipped|Frankenstein|Big change' | tail -n 4 | paste -sd'|')"
    fi
}
# live_branches — the branches whose casty-cli is running.
live_branches() { local a; for a in "${BRANCH_ADDRESSES[@]}"; do alive "${PID_OF[$a]}" && echo "$a"; done; return 0; }
# shape_settles TIMEOUT WHAT — wait until the tree of the live nodes is right; PASS/FAIL with evidence.
shape_settles() {
    local timeout=$1 what=$2 live
    # shellcheck disable=SC2207
    live=($(live_branches))
    _shape_ok() {
        read_tree "$ROOT" "${live[@]}"
        tree_shape "$ROOT" "${live[@]}"
        [ -z "$TREE_PROBLEMS" ] && [ "$TREE_REACHED" -eq $((${#live[@]} + 1)) ]
    }
    if wait_until "$timeout" _shape_ok; then
        print_tree
        pass "$what: the tree of the ${#live[@]} live branches is whole: ≤ 2 branches per node, parents agree, depth $TREE_DEPTH"
        check "$what: depth $TREE_DEPTH ≤ 3 = ⌈log2(${#live[@]}+1)⌉" [ "$TREE_DEPTH" -le 3 ]
    else
        print_tree
        fail "$what: after $timeout s the tree is not right: $TREE_REACHED of $((${#live[@]} + 1)) nodes reached; ${TREE_PROBLEMS//$'\n'/; }"
    fi
}

# --- 3. SIGKILL an interior branch -------------------------------------------------------------------------
read_tree "$ROOT" "${BRANCH_ADDRESSES[@]}"
# shellcheck disable=SC2207
BELOW=($(descendants "$KILL"))
# shellcheck disable=SC2207
KIDS=($(children_of "${TREE_LINES[$KILL]}"))
OTHER=""
for a in "${LEAVES[@]}"; do [[ " ${BELOW[*]} " == *" $a "* ]] || { OTHER=$a; break; }; done
info "phase kill: $KILL has branches ${KIDS[*]} and descendants ${BELOW[*]}; control listener on $OTHER"
declare -A ATTACHED_BEFORE=()
for a in "${BELOW[@]}"; do ATTACHED_BEFORE[$a]=$(count_in "$TMP/${NS_OF[$a]}.log" "attached to"); done
phase_dummies kill "$PHASE_SECONDS" "${BELOW[@]}" ${OTHER:+"$OTHER"}
nsx lis curl -s -H 'X-Casty-Numbered: 1' -H 'Icy-MetaData: 1' --max-time "$PHASE_SECONDS" -D "$TMP/kill-cap.hdr" \
    -o "$TMP/kill-cap.bin" "http://$LEAF3/" 9>&- &
KILL_CAP=$!
TREE_PIDS+=("$KILL_CAP")
sleep 2.5
frames0=$(mpg123_frames)
broken0=$(mpg123_broken)
t0=$(now_ms)
kill -KILL "${PID_OF[$KILL]}"
{ wait "${PID_OF[$KILL]}"; } 2>/dev/null || true   # reap it quietly (no "Killed" from bash)
info "SIGKILL sent to ${NS_OF[$KILL]} ($KILL, pid ${PID_OF[$KILL]})"
_kids_reattached() {
    local a
    for a in "${KIDS[@]}"; do
        (($(count_in "$TMP/${NS_OF[$a]}.log" "attached to") > ATTACHED_BEFORE[$a])) || return 1
    done
}
if wait_until 8 _kids_reattached; then
    pass "kill: every branch of $KILL re-attached within $(($(now_ms) - t0)) ms of the SIGKILL"
else
    fail "kill: not every branch of $KILL re-attached within 8 s"
fi
for a in "${BELOW[@]}"; do
    grep -E "upstream lost|attached to|repaired in" "$TMP/${NS_OF[$a]}.log" | tail -n 3 | sed "s/^/    ${NS_OF[$a]}: /" || true
done
check_dummies kill "$PHASE_SECONDS" "${BELOW[@]}" ${OTHER:+"$OTHER"}
wait "$KILL_CAP" 2>/dev/null || true
s=$(python3 "$TREE_DIR/icycap.py" summary "$TMP/kill-cap.hdr" "$TMP/kill-cap.bin" 2>&1 || true)
if [[ "$s" == *" gaps=0 missing=0 dups=0 "* ]] && [ "$(field "$s" numbered)" -ge $((PHASE_SECONDS * 2 - 2)) ] 2>/dev/null; then
    pass "kill: raw capture at the depth-3 leaf $LEAF3 across the repair: no gap, no duplicate ($s)"
else
    fail "kill: raw capture at the depth-3 leaf $LEAF3 across the repair: $s"
fi
mpg123_progress "$frames0" "$t0" "$broken0" "kill"
shape_settles 8 "kill"
nsx lis timeout 10 "$CLI" tree "http://$ROOT/" | sed 's/^/    /' || true

# --- 4. A link down for 2 s under an interior branch ---------------------------------------------------------
# shellcheck disable=SC2207
LIVE=($(live_branches))
read_tree "$ROOT" "${LIVE[@]}"
DOWN=""
for a in $(ancestors "$LEAF3"); do [ "$a" != "$ROOT" ] && { DOWN=$a; break; }; done
if [ -z "$DOWN" ]; then  # mpg123's leaf hangs under the root now: any interior branch will do
    for a in "${LIVE[@]}"; do [ -n "$(children_of "${TREE_LINES[$a]:-}")" ] && { DOWN=$a; break; }; done
fi
[ -n "$DOWN" ] || { fail "link: no interior branch left"; exit 1; }
# shellcheck disable=SC2207
BELOW=($(descendants "$DOWN"))
# shellcheck disable=SC2207
KIDS=($(children_of "${TREE_LINES[$DOWN]}"))
info "phase link: eth0 of ${NS_OF[$DOWN]} ($DOWN) goes down for $LINK_DOWN_SECONDS s; its branches ${KIDS[*]}, descendants ${BELOW[*]}"
for a in "${BELOW[@]}" "$DOWN"; do ATTACHED_BEFORE[$a]=$(count_in "$TMP/${NS_OF[$a]}.log" "attached to"); done
phase_dummies link "$PHASE_SECONDS" "${BELOW[@]}"
# …and listeners of the branch itself, on its own host (they reach it over loopback, so the downed link does not
# cut them off): when it resumes, its parent replays what it missed, and they must get all of it.
tree_start "${NS_OF[$DOWN]}" "dummy-link-local-${NS_OF[$DOWN]}" casty dummy "http://$DOWN/" --count "$DUMMY_COUNT" \
    --duration "$PHASE_SECONDS"
DUMMY_PIDS+=("$LAST_PID")
DUMMY_LOG[link-local-$DOWN]="$TMP/dummy-link-local-${NS_OF[$DOWN]}.log"
LINK_CAP=""
if [[ " ${BELOW[*]} " == *" $LEAF3 "* ]]; then
    nsx lis curl -s -H 'X-Casty-Numbered: 1' -H 'Icy-MetaData: 1' --max-time "$PHASE_SECONDS" -D "$TMP/link-cap.hdr" \
        -o "$TMP/link-cap.bin" "http://$LEAF3/" 9>&- &
    LINK_CAP=$!
    TREE_PIDS+=("$LINK_CAP")
fi
sleep 2.5
frames0=$(mpg123_frames)
broken0=$(mpg123_broken)
t0=$(now_ms)
ip -n "$(ns "${NS_OF[$DOWN]}")" link set eth0 down
info "eth0 down in $(ns "${NS_OF[$DOWN]}")"
sleep "$LINK_DOWN_SECONDS"
ip -n "$(ns "${NS_OF[$DOWN]}")" link set eth0 up
info "eth0 up in $(ns "${NS_OF[$DOWN]}") after $(($(now_ms) - t0)) ms"
# The branch under the downed link notices the silence first (2.25 segment durations at depth 1) and re-attaches;
# its own branches wait a quarter segment longer per level and, cut off with it, usually re-attach elsewhere (if
# fed again first, they stay). Either way they must keep playing with no gap and no duplicate (below).
_link_repaired() {
    (($(count_in "$TMP/${NS_OF[$DOWN]}.log" "attached to") > ATTACHED_BEFORE[$DOWN]))
}
if wait_until 10 _link_repaired; then
    pass "link: $DOWN re-attached within $(($(now_ms) - t0)) ms of the link going down"
    for a in "${KIDS[@]}"; do
        if (($(count_in "$TMP/${NS_OF[$a]}.log" "attached to") > ATTACHED_BEFORE[$a])); then
            info "link: $a re-attached as well"
        else
            info "link: $a stayed with $DOWN, fed again once $DOWN was repaired"
        fi
    done
else
    fail "link: $DOWN did not re-attach within 10 s of the link coming up"
fi
for a in "$DOWN" "${BELOW[@]}"; do
    grep -E "upstream lost|attached to|repaired in" "$TMP/${NS_OF[$a]}.log" | tail -n 3 | sed "s/^/    ${NS_OF[$a]}: /" || true
done
check_dummies link "$PHASE_SECONDS" "${BELOW[@]}"
s=$(dummy_summary "${DUMMY_LOG[link-local-$DOWN]}")
if [ "$(field "$s" connected)" = "$DUMMY_COUNT/$DUMMY_COUNT" ] && [ "$(field "$s" gaps)" = 0 ] && [ "$(field "$s" missing)" = 0 ]; then
    pass "link: the listeners of $DOWN on its own host got every segment, none twice, across the outage: $s"
else
    fail "link: the listeners of $DOWN on its own host (loopback, not cut off): $s (want connected=$DUMMY_COUNT/$DUMMY_COUNT gaps=0 missing=0)"
fi
if [ -n "$LINK_CAP" ]; then
    wait "$LINK_CAP" 2>/dev/null || true
    s=$(python3 "$TREE_DIR/icycap.py" summary "$TMP/link-cap.hdr" "$TMP/link-cap.bin" 2>&1 || true)
    if [[ "$s" == *" gaps=0 missing=0 dups=0 "* ]] && [ "$(field "$s" numbered)" -ge $((PHASE_SECONDS * 2 - 2)) ] 2>/dev/null; then
        pass "link: raw capture at the leaf $LEAF3 across the repair: no gap, no duplicate ($s)"
    else
        fail "link: raw capture at the leaf $LEAF3 across the repair: $s"
    fi
fi
line=$(tree_line "$DOWN" || true)
if [ "$(field "$line" gaps)" = 0 ] && [ "$(field "$line" missing)" = 0 ]; then
    pass "link: $DOWN itself resumed with no gap: $line"
else
    fail "link: $DOWN itself counted a gap (or does not answer): ${line:-no answer}"
fi
mpg123_progress "$frames0" "$t0" "$broken0" "link"
shape_settles 8 "link"
nsx lis timeout 10 "$CLI" tree "http://$ROOT/" | sed 's/^/    /' || true

# --- 5. A late branch joins the repaired tree --------------------------------------------------------------------
tree_start b8 b8 casty branch --root "http://$ROOT/" --host "$TREE_SUBNET.18" --port "$TREE_PORT" --advertise "$LATE" \
    --eager --status-every 60
PID_OF[$LATE]=$LAST_PID
BRANCH_ADDRESSES+=("$LATE")
if wait_until 10 grep -q "attached to" "$TMP/b8.log"; then
    pass "late: an 8th branch ($LATE) took a place: $(grep -m1 "attached to" "$TMP/b8.log" | cut -d' ' -f2-)"
else
    fail "late: the 8th branch ($LATE) did not attach within 10 s"
fi
shape_settles 5 "late"

# --- 6. Everyone, at the end ---------------------------------------------------------------------------------
# shellcheck disable=SC2207
LIVE=($(live_branches))
read_tree "$ROOT" "${LIVE[@]}"
bad=""
for a in "$ROOT" "${LIVE[@]}"; do
    line=${TREE_LINES[$a]:-}
    if [ -z "$line" ] || [ "$(field "$line" gaps)" != 0 ] || [ "$(field "$line" missing)" != 0 ]; then
        bad+=" $a(${line:-no answer})"
    fi
done
check "every live node's /tree shows gaps=0 missing=0${bad:+:$bad}" [ -z "$bad" ]
_new_titles() { tr '\r' '\n' <"$TMP/mpg123.log" | tr -d '\000' | grep -oE "ICY-META: StreamTitle='[^']*'" | uniq | wc -l; }
check "mpg123 printed $(_new_titles) titles (ICY-META) as they changed at the source" [ "$(_new_titles)" -ge 2 ]
if alive "$MPG_PID"; then
    pass "mpg123 is still playing $LEAF3 after both repairs ($(mpg123_frames) frames decoded, $(mpg123_broken) resyncs)"
else
    fail "mpg123 stopped: $(tr '\r' '\n' <"$TMP/mpg123.log" | tail -n 5 | paste -sd'|')"
fi
exit 0
