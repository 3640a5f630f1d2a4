#!/usr/bin/env bash
# bench.sh — figures for the distribution tree, measured across network namespaces (one "host" per node on a
# bridge, private subnet 10.213.0.0/24 inside them only). Prints figures and markdown tables; asserts nothing
# about times (it fails only when a setup step fails).
#
#   1. Latency per hop: a chain root → n1 → … → n8 (root and branches --fanout 1), `casty-cli dummy --count 3`
#      on every depth 0…8 for LAT_SECONDS. The dummy's lag is the wall clock when a segment arrived minus
#      the time the root cut it (CastyTime; every namespace shares the kernel's clock). Per depth: the median
#      and the mean over time of the dummies' per-second lag p50, and the worst per-second lag max; the added
#      latency per hop is the difference of the means between consecutive depths, and the slope (depth 8 − 0)/8.
#   2. Repair after SIGKILL: a tree of root + 7 branches (--fanout 2); the depth-1 branch that has a grandchild is
#      killed. Its branches' own figure ("repaired in X s": from noticing the loss to the first segment from
#      the new parent), and at every descendant a probe (scripts/tree/probe.py) and a dummy: the extra delay
#      of the segments cut after the kill (worst lag after − usual lag), the longest silence, segments lost.
#   3. Repair after a link down: the same tree; eth0 of that depth-1 branch goes down for LINK_DOWN_SECONDS
#      (2 s). Its branches notice the silence after 2.5 segment durations (1.25 s) and re-attach elsewhere
#      (they name the lost parent: X-Casty-Lost), so the longest silence at the leaves stays under 2 s.
# Each scenario runs REPS (3) times, each time with fresh processes; the tables quote medians over the runs.
#
# Usage: bash scripts/tree/bench.sh   (as root; CASTY_CLI, REPS, LAT_SECONDS, LINK_DOWN_SECONDS, SCENARIOS="latency kill
# link" may be set; TREE_KEEP=1 keeps the logs)
# shellcheck disable=SC2317  # functions called through wait_until and check look unreachable to shellcheck
set -euo pipefail
TREE_PREFIX=ctb
TREE_TOOLS="ip curl python3 flock timeout"
# shellcheck source=scripts/tree/lib.sh
. "$(dirname "$0")/lib.sh"
tree_begin

REPS=${REPS:-3}
CHAIN=8
LAT_SECONDS=${LAT_SECONDS:-20}
REPAIR_SECONDS=12            # probes and dummies at the descendants run this long; the failure comes 4 s in
LINK_DOWN_SECONDS=${LINK_DOWN_SECONDS:-2}
SCENARIOS=${SCENARIOS:-latency kill link}   # which of the three to run
ROOT_IP=$TREE_SUBNET.1
declare -A NS_OF=()          # address → namespace name
declare -A PID_OF=()         # address → casty-cli pid
declare -a RUN_PIDS=()

tree_net_add root "$ROOT_IP"
for ((i = 1; i <= CHAIN; i++)); do tree_net_add "n$i" "$TREE_SUBNET.$((10 + i))"; done
tree_net_add lis "$TREE_SUBNET.100"
info "namespaces: $(_our_namespaces | paste -sd' '); $(nproc) cores; $(uname -r)"
DATA=$TMP/data
mkdir -p "$DATA"

# start_root PORT FANOUT LABEL — the root (built-in station) in ctb-root.
start_root() {
    local port=$1 fanout=$2 label=$3
    tree_start root "$label-root" casty root --station --host "$ROOT_IP" --port "$port" \
        --advertise "$ROOT_IP:$port" --fanout "$fanout" --status-every 60
    RUN_PIDS+=("$LAST_PID")
    NS_OF[$ROOT_IP:$port]=root
    _has_segments() { [ "$(field "$(tree_line "$ROOT_IP:$port")" segments)" -ge 2 ] 2>/dev/null; }
    wait_until 10 _has_segments || { fail "$label: the root on $ROOT_IP:$port has no segments after 10 s"; exit 1; }
}
# start_branch I PORT FANOUT LABEL — branch nI, --eager; waits until it attached. Sets LAST_PID.
start_branch() {
    local i=$1 port=$2 fanout=$3 label=$4 address=$TREE_SUBNET.$((10 + $1)):$2
    tree_start "n$i" "$label-n$i" casty branch --root "http://$ROOT_IP:$port/" --host "$TREE_SUBNET.$((10 + i))" \
        --port "$port" --advertise "$address" --fanout "$fanout" --eager --status-every 60
    RUN_PIDS+=("$LAST_PID")
    NS_OF[$address]="n$i"
    PID_OF[$address]=$LAST_PID
    wait_until 10 grep -q "attached to" "$TMP/$label-n$i.log" || { fail "$label: n$i did not attach"; exit 1; }
}
# stop_run — end every process of this run.
stop_run() {
    tree_stop "${RUN_PIDS[@]}"
    RUN_PIDS=()
}

# --- 1. Latency per hop: a chain of 8 ------------------------------------------------------------------------
for ((r = 1; r <= REPS; r++)); do
    [[ " $SCENARIOS " == *" latency "* ]] || break
    port=$((8100 + r))
    label=chain$r
    start_root "$port" 1 "$label"
    addresses=("$ROOT_IP:$port")
    for ((i = 1; i <= CHAIN; i++)); do
        start_branch "$i" "$port" 1 "$label"
        addresses+=("$TREE_SUBNET.$((10 + i)):$port")
    done
    sleep 1
    read_tree "${addresses[@]}"
    for ((d = 0; d <= CHAIN; d++)); do
        got=$(field "${TREE_LINES[${addresses[d]}]:-}" depth)
        [ "$got" = "$d" ] || { fail "$label: ${addresses[d]} is at depth '${got}', not $d: not a chain"; print_tree; exit 1; }
    done
    info "$label: chain of $CHAIN branches in place (depths 0…$CHAIN); dummies for $LAT_SECONDS s"
    dummy_pids=()
    for ((d = 0; d <= CHAIN; d++)); do
        tree_start lis "$label-dummy-d$d" casty dummy "http://${addresses[d]}/" --count 3 --duration "$LAT_SECONDS"
        dummy_pids+=("$LAST_PID")
        RUN_PIDS+=("$LAST_PID")
    done
    for p in "${dummy_pids[@]}"; do
        for ((w = 0; w < (LAT_SECONDS + 15) * 10; w++)); do alive "$p" || break; sleep 0.1; done
    done
    for ((d = 0; d <= CHAIN; d++)); do
        s=$(dummy_summary "$TMP/$label-dummy-d$d.log")
        # per-second lines, the first two left out (the burst a new listener gets arrives late by design)
        tr -d '\000' <"$TMP/$label-dummy-d$d.log" | grep -oE 'lag p50 [0-9]+ ms, max [0-9]+ ms' |
            tail -n +3 | awk -v r="$r" -v d="$d" '{ print r, d, $3, $6 }' >>"$DATA/latency.txt"
        info "$label depth $d: $s"
    done
    stop_run
done

# --- 2 and 3. Repair ---------------------------------------------------------------------------------------------
# repair_run KIND R — KIND kill|link; one run on a fresh tree of 7 branches.
repair_run() {
    local kind=$1 r=$2 port label target t_event a n line kids below
    if [ "$kind" = kill ]; then port=$((8200 + r)); else port=$((8300 + r)); fi
    label=$kind$r
    start_root "$port" 2 "$label"
    local all=()
    for ((i = 1; i <= 7; i++)); do
        start_branch "$i" "$port" 2 "$label"
        all+=("$TREE_SUBNET.$((10 + i)):$port")
    done
    sleep 1
    read_tree "$ROOT_IP:$port" "${all[@]}"
    target=""
    for a in "${all[@]}"; do
        [ "$(field "${TREE_LINES[$a]:-}" depth)" = 1 ] || continue
        for n in $(children_of "${TREE_LINES[$a]}"); do
            [ -n "$(children_of "${TREE_LINES[$n]:-}")" ] && { target=$a; break 2; }
        done
    done
    [ -n "$target" ] || { fail "$label: no depth-1 branch with a grandchild"; print_tree; exit 1; }
    # shellcheck disable=SC2207
    kids=($(children_of "${TREE_LINES[$target]}"))
    # shellcheck disable=SC2207
    below=($(descendants "$target"))
    info "$label: $kind ${NS_OF[$target]} ($target); branches ${kids[*]}; descendants ${below[*]}"
    local waitfor=()
    for a in "${below[@]}"; do
        n=${NS_OF[$a]}
        tree_start lis "$label-dummy-$n" casty dummy "http://$a/" --count 2 --duration "$REPAIR_SECONDS"
        waitfor+=("$LAST_PID")
        RUN_PIDS+=("$LAST_PID")
        tree_start lis "$label-probe-$n" python3 "$TREE_DIR/probe.py" record "http://$a/" "$REPAIR_SECONDS" "$DATA/$label-probe-$n.txt"
        waitfor+=("$LAST_PID")
        RUN_PIDS+=("$LAST_PID")
    done
    sleep 4
    t_event=$(now_ms)
    if [ "$kind" = kill ]; then
        kill -KILL "${PID_OF[$target]}"
        { wait "${PID_OF[$target]}"; } 2>/dev/null || true
    else
        ip -n "$(ns "${NS_OF[$target]}")" link set eth0 down
        sleep "$LINK_DOWN_SECONDS"
        ip -n "$(ns "${NS_OF[$target]}")" link set eth0 up
    fi
    for p in "${waitfor[@]}"; do
        for ((w = 0; w < (REPAIR_SECONDS + 15) * 10; w++)); do alive "$p" || break; sleep 0.1; done
    done
    local who
    for a in "${kids[@]}" $([ "$kind" = link ] && echo "$target"); do
        n=${NS_OF[$a]}
        line=$(tr -d '\000' <"$TMP/$label-$n.log" | grep -E "repaired in" | tail -n 1 || true)
        who=branch
        [ "$a" = "$target" ] && who=self
        echo "$kind $r $n $who $(echo "$line" | grep -oE 'repaired in [0-9.]+' | awk '{ print $3 }')" >>"$DATA/repaired.txt"
        info "$label: ${n} ($who): ${line:-no 'repaired in' line}"
    done
    for a in "${below[@]}"; do
        n=${NS_OF[$a]}
        s=$(dummy_summary "$TMP/$label-dummy-$n.log")
        p=$(python3 "$TREE_DIR/probe.py" stats "$DATA/$label-probe-$n.txt" "$t_event" 2>&1 || true)
        info "$label: at $n: $s; probe: $p"
        echo "$kind $r $n $(field "$s" gaps) $(field "$s" missing) $(field "$s" connected) $(field "$p" gaps) $(field "$p" missing) $(field "$p" dups) $(field "$p" extra_ms) $(field "$p" longest_silence_ms) $(field "$p" usual_lag_ms)" >>"$DATA/repair.txt"
    done
    read_tree "$ROOT_IP:$port" "${all[@]}"
    print_tree
    stop_run
}

for kind in kill link; do
    [[ " $SCENARIOS " == *" $kind "* ]] || continue
    for ((r = 1; r <= REPS; r++)); do repair_run "$kind" "$r"; done
done

# --- Tables ------------------------------------------------------------------------------------------------------
echo
echo "## Results ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), casty-cli $(basename "$(dirname "$CLI")") build)"
echo
echo "Command: \`bash scripts/tree/bench.sh\` as root (REPS=$REPS, LAT_SECONDS=$LAT_SECONDS, LINK_DOWN_SECONDS=$LINK_DOWN_SECONDS, SCENARIOS=\"$SCENARIOS\")"
python3 - "$DATA" "$REPS" <<'PY'
import sys
from statistics import median, mean
data, reps = sys.argv[1], int(sys.argv[2])

def rows(name):
    try:
        return [line.split() for line in open(f"{data}/{name}") if line.strip()]
    except FileNotFoundError:
        return []

lat = rows("latency.txt")   # rep depth p50 max (per second)
if lat:
    depths = sorted({int(r[1]) for r in lat})
    per = {}   # (rep, depth) -> ([p50...], [max...])
    for rep, d, p50, mx in lat:
        per.setdefault((int(rep), int(d)), ([], []))
        per[(int(rep), int(d))][0].append(int(p50))
        per[(int(rep), int(d))][1].append(int(mx))
    print()
    print("### End-to-end lag by depth (chain, --fanout 1, dummies --count 3)")
    print()
    print("Per run: the median and mean over time of the dummies' per-second lag p50, and the worst per-second max;")
    print(f"the table gives the median of the {reps} runs (each run's own numbers in brackets).")
    print()
    print("| depth | lag p50 (ms) | lag mean (ms) | lag max (ms) | added vs previous depth (mean, ms) |")
    print("|---:|---:|---:|---:|---:|")
    means = {}
    for d in depths:
        runs = sorted(r for (r, dd) in per if dd == d)
        p50s = [median(per[(r, d)][0]) for r in runs]
        avgs = [mean(per[(r, d)][0]) for r in runs]
        maxs = [max(per[(r, d)][1]) for r in runs]
        means[d] = median(avgs)
        added = "" if d == depths[0] else f"{means[d] - means[d - 1]:+.2f}"
        fmt = lambda xs: " / ".join(f"{x:g}" if isinstance(x, int) else f"{x:.1f}" for x in xs)
        print(f"| {d} | {median(p50s):g} [{fmt(p50s)}] | {median(avgs):.2f} [{fmt(avgs)}] | {median(maxs):g} [{fmt(maxs)}] | {added} |")
    if len(depths) > 1:
        slope = (means[depths[-1]] - means[depths[0]]) / (depths[-1] - depths[0])
        print()
        print(f"Added latency per hop (mean lag, depth {depths[-1]} − depth {depths[0]}) / {depths[-1] - depths[0]}: "
              f"**{slope:.2f} ms** (target: ≤ one segment duration + 5 ms = 505 ms).")

rep = rows("repaired.txt")     # kind rep node who seconds
rp = rows("repair.txt")        # kind rep node dgaps dmissing connected pgaps pmissing pdups extra silence usual
for kind, title in (("kill", "SIGKILL of a depth-1 branch with a grandchild"), ("link", "eth0 of a depth-1 branch down for the link-down time")):
    kr = [r for r in rep if r[0] == kind]
    kp = [r for r in rp if r[0] == kind]
    if not kr and not kp:
        continue
    print()
    print(f"### Repair: {title}")
    print()
    print("| run | branches' 'repaired in' (s) | the branch itself (s) | extra delay at descendants, max (ms) | longest silence, max (ms) | segments lost (dummies: missing) | gaps+dups (probes) |")
    print("|---:|---|---|---:|---:|---:|---:|")
    summary = {"repaired": [], "self": [], "extra": [], "silence": [], "lost": [], "probe": []}
    for run in sorted({int(r[1]) for r in kr + kp}):
        branches = [float(r[4]) for r in kr if int(r[1]) == run and r[3] == "branch" and len(r) > 4]
        self_ = [float(r[4]) for r in kr if int(r[1]) == run and r[3] == "self" and len(r) > 4]
        probes = [r for r in kp if int(r[1]) == run]
        def num(x):
            try:
                return float(x)
            except ValueError:
                return None
        extra = [num(r[9]) for r in probes if len(r) > 9 and num(r[9]) is not None]
        silence = [num(r[10]) for r in probes if len(r) > 10 and num(r[10]) is not None]
        lost = sum(int(r[4]) for r in probes if r[4].isdigit())
        pbad = sum(int(r[6]) + int(r[8]) for r in probes if r[6].isdigit() and r[8].isdigit())
        summary["repaired"] += [max(branches)] if branches else []
        summary["self"] += [max(self_)] if self_ else []
        summary["extra"] += [max(extra)] if extra else []
        summary["silence"] += [max(silence)] if silence else []
        summary["lost"].append(lost)
        summary["probe"].append(pbad)
        print(f"| {run} | {', '.join(f'{x:.1f}' for x in branches) or '-'} | {', '.join(f'{x:.1f}' for x in self_) or '-'} |"
              f" {max(extra) if extra else '-':} | {max(silence) if silence else '-'} | {lost} | {pbad} |")
    med = lambda xs, f="{:.1f}": f.format(median(xs)) if xs else "-"
    print(f"| **median** | {med(summary['repaired'])} (slowest branch) | {med(summary['self'])} | {med(summary['extra'], '{:.0f}')} |"
          f" {med(summary['silence'], '{:.0f}')} | {med(summary['lost'], '{:.0f}')} | {med(summary['probe'], '{:.0f}')} |")
print()
print("Targets: added latency per hop ≤ one segment duration + 5 ms; repair in ≤ 2 segment durations (1 s at 8192 bytes,")
print("128 kbit/s) with 0 lost segments. 'repaired in' counts from the moment the branch declared its parent lost (at once")
print("on a closed connection; after 3 segment durations = 1.5 s of silence on a dead link) to the first segment from the new")
print("parent; 'extra delay' is what a listener at a descendant sees: the worst lag of the segments cut after the event")
print("minus the usual lag.")
PY
exit 0
