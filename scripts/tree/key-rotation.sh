#!/usr/bin/env bash
# key-rotation.sh — a closed tree's key rotated without a restart: SIGHUP makes `casty-cli root` and `casty-cli branch`
# read their --tree-key-file again (Sources/casty-cli/TreeKeyReload.swift), and a root of mounts its --config file,
# whose --tree-key-file may name another file (Sources/casty-cli/ServerCommand+Reload.swift).
#
# Asserts: a root of the built-in station with --tree-key-file admits branch requests with its key only; after a new
# key in its file and SIGHUP it says so in one line (no key shown), still runs, and admits the new key and the old
# one, never a third; a file emptied and SIGHUP changes nothing, in one line; a branch with the old key in its file
# keeps streaming, and after a new key in its file and SIGHUP says so and still runs; a root of mounts whose --config
# file names another key file takes it at once (`SIGHUP: options read again: the tree key (…) changed`, not "taken at
# a restart"), admitting the new key and the old one. Exit 0 only if all passed. About 15 s; needs python3 and curl.
# KEY_ROTATION_PORTS="A B C" gives the three TCP ports to listen on (default: free ones).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-key-rotation.XXXXXX)
pids=()
trap stop_started EXIT
read -r root branch mounts <<<"${KEY_ROTATION_PORTS:-$(free_port) $(free_port) $(free_port)}"

# answer PORT PATH KEY FROM — the HTTP status a branch request for PATH on PORT is answered with, sent with KEY by a
# branch serving at 10.9.9.9:FROM.
answer() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "X-Casty-Branch: 10.9.9.9:$4" -H "X-Casty-Key: $3" \
        "http://127.0.0.1:$1$2" || true
}
# answers WHAT WANT PORT PATH KEY FROM — checks that `answer PORT PATH KEY FROM` is WANT.
answers() {
    local what=$1 want=$2 got
    got=$(answer "$3" "$4" "$5" "$6")
    if [ "$got" = "$want" ]; then pass "$what: $got"; else fail "$what: $got (expected $want)"; fi
}

printf 'alpha-key-1\n' >"$TMP/key"
"$CLI" root --station --host 127.0.0.1 --port "$root" --advertise "127.0.0.1:$root" --fanout 8 --tree-key-file "$TMP/key" \
    </dev/null >"$TMP/root.log" 2>&1 &
root_pid=$!
pids+=("$root_pid")
root_listens() { log_has "$TMP/root.log" "root: listening on"; }
check "the root of a closed tree starts" wait_until 10 root_listens
answers "the root admits its key" 200 "$root" / alpha-key-1 8001
answers "the root refuses another" 403 "$root" / bravo-key-2 8002

printf 'bravo-key-2\n' >"$TMP/key"
kill -HUP "$root_pid"
rotated() {
    log_has "$TMP/root.log" "SIGHUP: the tree key \(.*/key\) changed: taken for new branches; the previous key is still accepted until the next key change"
}
check "SIGHUP: the root says its key changed" wait_until 10 rotated
check "the root still runs after SIGHUP" kill -0 "$root_pid"
answers "the root admits the new key" 200 "$root" / bravo-key-2 8003
answers "the root still admits the previous key" 200 "$root" / alpha-key-1 8004
answers "the root refuses a third key" 403 "$root" / charlie-key-3 8005

: >"$TMP/key"
kill -HUP "$root_pid"
kept() {
    log_has "$TMP/root.log" "SIGHUP: the tree key not read again, the root keeps the key it has: --tree-key-file .*/key: the first line holds no key"
}
check "SIGHUP with an empty key file: one line, the key kept" wait_until 10 kept
answers "the root still admits its key" 200 "$root" / bravo-key-2 8006

# A FIFO in the key file's place is refused unread (opening it would block every later SIGHUP), and the next
# SIGHUP reads the regular file put back.
rm -f "$TMP/key"
mkfifo "$TMP/key"
kill -HUP "$root_pid"
fifo_refused() {
    log_has "$TMP/root.log" "SIGHUP: the tree key not read again, the root keeps the key it has: --tree-key-file: .*/key is a FIFO, not a regular file"
}
check "SIGHUP with a FIFO as the key file: one line, the key kept" wait_until 10 fifo_refused
rm -f "$TMP/key"
printf 'bravo-key-2\n' >"$TMP/key"
kill -HUP "$root_pid"
read_after_fifo() { log_has "$TMP/root.log" "SIGHUP: the tree key \(.*/key\) read again: the same key"; }
check "the SIGHUP after the FIFO reads the key file again" wait_until 10 read_after_fifo

# A branch attached with the previous key, then given a new one.
printf 'alpha-key-1\n' >"$TMP/branch-key"
"$CLI" branch --root "http://127.0.0.1:$root/" --host 127.0.0.1 --port "$branch" --advertise "127.0.0.1:$branch" --eager \
    --tree-key-file "$TMP/branch-key" </dev/null >"$TMP/branch.log" 2>&1 &
branch_pid=$!
pids+=("$branch_pid")
branch_streams() { answer "$branch" / alpha-key-1 8007 | grep -q 200; }
check "a branch with the previous key is placed and serves" wait_until 10 branch_streams
printf 'charlie-key-3\n' >"$TMP/branch-key"
kill -HUP "$branch_pid"
branch_rotated() {
    log_has "$TMP/branch.log" "SIGHUP: the tree key \(.*/branch-key\) changed: sent to the parents from the next request on, and taken for new branches; the previous key is still accepted until the next key change"
}
check "SIGHUP: the branch says its key changed" wait_until 10 branch_rotated
check "the branch still runs after SIGHUP" kill -0 "$branch_pid"
answers "the branch admits its new key" 200 "$branch" / charlie-key-3 8008
answers "the branch still admits its previous key" 200 "$branch" / alpha-key-1 8009

# A root of mounts whose --config file names another key file.
printf 'delta-key-4\n' >"$TMP/one"
printf 'echo-key-5\n' >"$TMP/two"
printf 'source-password hackme\nstation /live\ntree-key-file %s\n' "$TMP/one" >"$TMP/root.conf"
"$CLI" root --host 127.0.0.1 --port "$mounts" --advertise "127.0.0.1:$mounts" --fanout 8 --config "$TMP/root.conf" \
    </dev/null >"$TMP/mounts.log" 2>&1 &
mounts_pid=$!
pids+=("$mounts_pid")
mounts_listen() { log_has "$TMP/mounts.log" "root: listening on"; }
check "a root of mounts of a closed tree starts" wait_until 10 mounts_listen
live_admits() { answer "$mounts" /live delta-key-4 8010 | grep -q 200; }
check "the root of mounts admits its key" wait_until 10 live_admits
printf 'source-password hackme\nstation /live\ntree-key-file %s\n' "$TMP/two" >"$TMP/root.conf"
kill -HUP "$mounts_pid"
path_taken() {
    log_has "$TMP/mounts.log" "SIGHUP: options read again: the tree key \(.*/two\) changed: taken for new branches; the previous key is still accepted until the next key change$"
}
check "SIGHUP: the new key file is taken at once, and said so" wait_until 10 path_taken
restart() { log_has "$TMP/mounts.log" "taken at a restart"; }
check "nothing is said to wait for a restart" eval '! restart'
answers "the root of mounts admits the new key" 200 "$mounts" /live echo-key-5 8011
answers "the root of mounts still admits the previous key" 200 "$mounts" /live delta-key-4 8012
answers "the root of mounts refuses a third key" 403 "$mounts" /live alpha-key-1 8013

leaked() { grep -qE -- "-key-[0-9]" "$TMP"/*.log; }
check "no key is in any log line" eval '! leaked'

if ((failures > 0)); then
    echo "--- last output"; tail -n 15 "$TMP"/*.log 2>/dev/null
    exit 1
fi
