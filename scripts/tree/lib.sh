# shellcheck shell=bash
# scripts/tree/lib.sh — what scripts/tree/netns-test.sh and scripts/tree/bench.sh share: a private network of
# Linux network namespaces (one "host" per tree node, all on one bridge), casty-cli started inside them, bounded
# waits, PASS:/FAIL:/INFO: lines, the tree read from every node's GET /tree, and cleanup on exit.
#
#     set -euo pipefail
#     TREE_PREFIX=ctt                  # names every namespace (ctt-br, ctt-root, ctt-b1, …, ctt-lis): one per script
#     . "$(dirname "$0")/lib.sh"
#     tree_begin                       # root + tools check, lock, leftovers of a crashed run removed, EXIT trap
#     tree_net_add root 10.213.0.1     # namespace ctt-root with eth0 = 10.213.0.1/24 on the bridge
#     tree_start root root-log  casty root --station …     # background, in ctt-root; pid in LAST_PID
#
# Addresses: 10.213.0.0/24, given only inside the namespaces made here (the bridge, in its own namespace
# ${TREE_PREFIX}-br, has none). Nothing is routed anywhere else: the namespaces have no default route.
# Cleanup (EXIT trap, also on error and signals): every process started here and every process still inside
# one of our namespaces is ended (TERM, then KILL after 3 s), then the namespaces are deleted (which deletes
# their veths and the bridge). A run starts with the same cleanup, so a crashed run leaves nothing behind.

TREE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TREE_ROOT=$(cd "$TREE_DIR/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$TREE_ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/verdict.sh
. "$TREE_ROOT/scripts/lib/verdict.sh"
TREE_PREFIX=${TREE_PREFIX:-ctt}
TREE_SUBNET=10.213.0
# shellcheck disable=SC2034  # used by the scripts that source this file
TREE_PORT=${TREE_PORT:-8000}   # every node listens on this port, in its own namespace
TREE_PIDS=()             # background processes started here (ended by the cleanup)
TMP=""
CLI=""
LAST_PID=""

# check DESCRIPTION CMD... — PASS when CMD succeeds, FAIL otherwise.
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

# ns NAME — the full name of one of our namespaces.
ns() { echo "${TREE_PREFIX}-$1"; }
# nsx NAME CMD... — run CMD inside namespace NAME.
nsx() { local name=$1; shift; ip netns exec "$(ns "$name")" "$@"; }

# _our_namespaces — every namespace whose name starts with our prefix (leftovers of a crashed run included).
_our_namespaces() { ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^${TREE_PREFIX}-" || true; }

# _gone PID — has PID exited (or is it a zombie)?
_gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }
alive() { ! _gone "$1"; }

# _end_pids PID... — SIGTERM, up to 3 s for them to exit, then SIGKILL; reap our own children.
_end_pids() {
    local pid i left
    [ $# -gt 0 ] || return 0
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 30; i++)); do
        left=0
        for pid in "$@"; do _gone "$pid" || left=1; done
        ((left)) || break
        sleep 0.1
    done
    for pid in "$@"; do _gone "$pid" || kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# tree_cleanup — end our processes and everything inside our namespaces, delete the namespaces.
tree_cleanup() {
    local name pids=()
    _end_pids "${TREE_PIDS[@]}"
    TREE_PIDS=()
    for name in $(_our_namespaces); do
        # shellcheck disable=SC2207
        pids+=($(ip netns pids "$name" 2>/dev/null || true))
    done
    _end_pids "${pids[@]}"
    for name in $(_our_namespaces); do
        ip netns delete "$name" 2>/dev/null || ip netns delete "$name" 2>/dev/null || true
    done
}

# verdict_cleanup — at exit: our processes and namespaces gone (a namespace left behind fails the run), the
# scratch directory removed unless TREE_KEEP is set.
verdict_cleanup() {
    tree_cleanup
    if [ -n "$TMP" ] && [ -z "${TREE_KEEP:-}" ]; then rm -rf -- "$TMP"; fi
    if [ -n "$(_our_namespaces)" ]; then fail "namespaces left behind: $(_our_namespaces | paste -sd' ')"; fi
}

# tree_begin — must be root; tools; one run of this script at a time (lock); leftovers removed; traps; casty-cli.
tree_begin() {
    local tool
    if [ "$(id -u)" -ne 0 ]; then echo "FAIL: [$VERDICT_NAME] needs root (network namespaces)"; exit 1; fi
    for tool in ${TREE_TOOLS:-ip curl python3 flock timeout mpg123}; do
        command -v "$tool" >/dev/null || { echo "FAIL: [$VERDICT_NAME] $tool is not installed"; exit 1; }
    done
    # Two runs of the same script would delete each other's namespaces: the second waits (≤ 200 s). Background
    # processes do not inherit the lock (9>&-), so the leftovers of a killed run do not hold it.
    local lock="/tmp/casty-tree-${TREE_PREFIX}.lock"
    [ -d /run/lock ] && [ -w /run/lock ] && lock="/run/lock/casty-tree-${TREE_PREFIX}.lock"
    exec 9>"$lock"
    if ! flock -w 200 9; then echo "FAIL: [$VERDICT_NAME] another run holds the lock for 200 s"; exit 1; fi
    verdict_traps
    if [ -n "$(_our_namespaces)" ]; then
        info "removing leftovers of an earlier run: $(_our_namespaces | paste -sd' ')"
    fi
    tree_cleanup
    # One scratch directory per script, emptied at the start (a killed run leaves its logs there) and removed
    # at the end unless TREE_KEEP is set.
    TMP="${TMPDIR:-/tmp}/casty-tree-$TREE_PREFIX"
    rm -rf -- "$TMP"
    mkdir -p "$TMP"
    chmod 755 "$TMP"
    find_casty_cli "$TREE_ROOT"
    info "casty-cli: $CLI; scratch: $TMP; namespaces ${TREE_PREFIX}-*; subnet $TREE_SUBNET.0/24 inside them only"
    ip netns add "$(ns br)"
    ip -n "$(ns br)" link add br0 type bridge
    ip -n "$(ns br)" link set br0 up
    ip -n "$(ns br)" link set lo up
}

# tree_net_add NAME IP — a namespace NAME (a "host") with eth0 = IP/24 on the bridge, and lo up. IPv6 is off
# (no router solicitations), there is no default route: only the subnet is reachable.
tree_net_add() {
    local name=$1 ip=$2 full
    full=$(ns "$name")
    ip netns add "$full"
    ip netns exec "$full" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
    ip -n "$(ns br)" link add "v-$name" type veth peer name eth0 netns "$full"
    ip -n "$(ns br)" link set "v-$name" master br0
    ip -n "$(ns br)" link set "v-$name" up
    ip -n "$full" addr add "$ip/24" dev eth0
    ip -n "$full" link set eth0 up
    ip -n "$full" link set lo up
}


# tree_start NAME LOG CMD... — run CMD in the background inside namespace NAME, stdout+stderr to $TMP/LOG.log.
# The word `casty` as CMD means casty-cli. Sets LAST_PID (the command's own PID: ip netns exec execs it).
tree_start() {
    local name=$1 log=$2
    shift 2
    [ "$1" = casty ] && { shift; set -- "$CLI" "$@"; }
    evidence_log "$log" "$TMP/$log.log"
    ip netns exec "$(ns "$name")" "$@" </dev/null >"$TMP/$log.log" 2>&1 9>&- &
    LAST_PID=$!
    TREE_PIDS+=("$LAST_PID")
}

# tree_stop PID... — end some of our background processes now (TERM, KILL after 3 s) and forget them.
tree_stop() {
    local pid i
    _end_pids "$@"
    for pid in "$@"; do
        for i in "${!TREE_PIDS[@]}"; do [ "${TREE_PIDS[i]}" = "$pid" ] && unset "TREE_PIDS[i]"; done
    done
    TREE_PIDS=("${TREE_PIDS[@]}")
}

# count_in FILE REGEX — how many lines of FILE match REGEX.
count_in() { tr -d '\000' <"$1" 2>/dev/null | grep -cE -- "$2" || true; }

# http_get URL — GET from the listener namespace (`lis`), 2 s at most.
http_get() { nsx lis curl -s --max-time 2 "$1"; }

# tree_line HOST:PORT — the node's GET /tree line.
tree_line() { http_get "http://$1/tree" | head -n 1; }

# field LINE KEY — the value of KEY=… in a /tree line.
field() { local w; for w in $1; do [ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return 0; }; done; echo ""; }

# children_of LINE — the children's addresses of a /tree line, one per line.
children_of() { field "$1" children | tr ',' '\n' | sed -E 's/:[0-9]+$//' | grep -v '^$' || true; }

# TREE_LINES[address] = /tree line of every node given, read now (unreachable nodes are left out).
declare -gA TREE_LINES=()
read_tree() {
    local address line
    TREE_LINES=()
    for address in "$@"; do
        line=$(tree_line "$address" 2>/dev/null || true)
        [ -n "$line" ] && TREE_LINES[$address]=$line
    done
    return 0
}

# tree_shape ROOT NODE... — check the tree read from the nodes' /tree lines (read_tree first): every node
# reachable from ROOT by children=, no node with more than MAX_CHILDREN (2) branches (counted both by its
# children= and by the branches whose parent= names it), each child's parent= is the node listing it, no node
# listed twice. Sets TREE_PROBLEMS (one per line; empty when the tree is right),
# TREE_DEPTH (deepest depth= reached) and TREE_REACHED (nodes reached from ROOT). Call it directly, not in $(…).
TREE_PROBLEMS=""
TREE_DEPTH=0
TREE_REACHED=0
tree_shape() {
    local root=$1 node child line n parent max=${MAX_CHILDREN:-2}
    shift
    local -A seen=()
    local queue=("$root")
    TREE_PROBLEMS=""
    TREE_DEPTH=0
    TREE_REACHED=0
    _problem() { TREE_PROBLEMS+="${TREE_PROBLEMS:+$'\n'}$*"; }
    while [ ${#queue[@]} -gt 0 ]; do
        node=${queue[0]}
        queue=("${queue[@]:1}")
        line=${TREE_LINES[$node]:-}
        if [ -z "$line" ]; then _problem "$node is listed as a branch but does not answer /tree"; continue; fi
        if [ -n "${seen[$node]:-}" ]; then _problem "$node is listed twice"; continue; fi
        seen[$node]=1
        TREE_REACHED=$((TREE_REACHED + 1))
        n=$(field "$line" depth)
        ((n > TREE_DEPTH)) && TREE_DEPTH=$n
        n=0
        for child in $(children_of "$line"); do
            n=$((n + 1))
            parent=$(field "${TREE_LINES[$child]:-}" parent)
            if [ -n "${TREE_LINES[$child]:-}" ] && [ "$parent" != "$node" ]; then
                _problem "$node lists $child as its branch, but $child says parent=$parent"
            fi
            queue+=("$child")
        done
        ((n <= max)) || _problem "$node has $n branches (most allowed: $max)"
    done
    # The other side: how many branches say parent=P (a node may serve branches it no longer lists).
    local -A claims=()
    for node in "$root" "$@"; do
        parent=$(field "${TREE_LINES[$node]:-}" parent)
        [ -n "$parent" ] && [ "$parent" != "-" ] && claims[$parent]+=" $node"
    done
    for parent in "${!claims[@]}"; do
        n=$(wc -w <<<"${claims[$parent]}")
        ((n <= max)) || _problem "$parent serves $n branches, by their parent= fields:${claims[$parent]} (most allowed: $max)"
    done
    for node in "$@"; do
        [ -n "${seen[$node]:-}" ] && continue
        line=${TREE_LINES[$node]:-}
        if [ -z "$line" ]; then
            _problem "$node does not answer /tree"
        else
            parent=$(field "$line" parent)
            if [ -n "${TREE_LINES[$parent]:-}" ] && ! children_of "${TREE_LINES[$parent]}" | grep -qxF "$node"; then
                _problem "$node is not reachable from the root: it says parent=$parent (depth=$(field "$line" depth)), but $parent's children= does not list it (${TREE_LINES[$parent]})"
            else
                _problem "$node is not reachable from the root through children= (it says parent=$parent, depth=$(field "$line" depth))"
            fi
        fi
    done
    return 0
}

# print_tree — the /tree lines read last, one per node (evidence).
print_tree() {
    local address
    for address in "${!TREE_LINES[@]}"; do echo "    ${TREE_LINES[$address]}"; done | sort -t= -k3
}

# ancestors NODE — NODE's ancestors from its parent up to the root, by the parent= fields read last.
ancestors() {
    local node=$1 parent i
    for ((i = 0; i < 64; i++)); do
        parent=$(field "${TREE_LINES[$node]:-}" parent)
        [ -n "$parent" ] && [ "$parent" != "-" ] && [ -n "${TREE_LINES[$parent]:-}" ] || return 0
        echo "$parent"
        node=$parent
    done
}

# descendants NODE — every node below NODE, by the children= fields read last.
descendants() {
    local child
    for child in $(children_of "${TREE_LINES[$1]:-}"); do
        echo "$child"
        descendants "$child"
    done
}

# dummy_summary FILE — the "dummy summary:" line of a casty-cli dummy output.
dummy_summary() { grep -m1 '^dummy summary:' "$1" 2>/dev/null || echo "dummy summary: (none)"; }
# summary_field LINE KEY — a key=value of that line.
summary_field() { field "$1" "$2"; }
