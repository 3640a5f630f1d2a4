#!/usr/bin/env bash
# root-options.sh — `casty-cli root` takes the SRT ingest options of `casty-cli server` (--srt-port, --srt-passphrase,
# --srt-latency, --srt-library), parsed by the same code (Sources/casty-cli/SRTOptions.swift).
#
# Asserts: `root --help` documents the four options; an SRT option without --srt-port is a usage mistake (status 1,
# one line); a passphrase SRT would not take, or a libsrt that is not there, stops the root at start-up with status 1
# and one line; and, where libsrt is installed, a root of many mounts with --srt-port says it takes SRT callers, with
# the latency it was given. The control plane too: a root with --key-verification-url and no source password asks
# the application (scripts/control/app.py) whether a source's key may publish, and refuses the one it refuses.
# Exit 0 only if all passed. A few seconds; needs python3 and curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-root-options.XXXXXX)
pids=()
trap stop_started EXIT

# help_lists OPTION — `casty-cli root --help` has a line documenting OPTION.
"$CLI" root --help >"$TMP/help.txt" 2>&1 || true
help_lists() { grep -qE -- "^ +$1 " "$TMP/help.txt"; }
for option in --srt-port --srt-passphrase --srt-latency --srt-library; do
    check "root --help documents $option" help_lists "$option"
done

# exits STATUS TEXT OPTIONS... — `casty-cli root OPTIONS…` exits with STATUS, and its first line holds TEXT.
exits() {
    local want=$1 text=$2 rc=0
    shift 2
    timeout 10 "$CLI" root --host 127.0.0.1 --port "$(free_port)" --source-password hackme --mounts /live "$@" \
        </dev/null >"$TMP/out.log" 2>&1 || rc=$?
    if [ "$rc" = "$want" ] && head -1 "$TMP/out.log" | grep -qF -- "$text"; then
        pass "root $*: status $rc, $(head -1 "$TMP/out.log" | cut -c1-150)"
    else
        fail "root $*: status $rc (expected $want and '$text'): $(head -2 "$TMP/out.log" | tr '\n' ' ' | cut -c1-300)"
    fi
}
exits 1 "--srt-latency needs --srt-port" --srt-latency 200
exits 1 "--srt-passphrase needs --srt-port" --srt-passphrase /live=correct-horse-battery
exits 1 "--srt-latency must be" --srt-port "$(free_port)" --srt-latency 5
exits 1 "the SRT passphrase of /live has 9 characters: SRT takes 10 to 79" --srt-port "$(free_port)" --srt-passphrase /live=123456789
exits 1 "SRT needs libsrt: apt-get install libsrt1.5-gnutls" --srt-port "$(free_port)" --srt-passphrase correct-horse-battery \
    --srt-library libsrt-not-here.so.1.5

if ldconfig -p 2>/dev/null | grep 'libsrt' >/dev/null; then
    srt=$(free_port)
    "$CLI" root --host 127.0.0.1 --port "$(free_port)" --source-password hackme --mounts /live --srt-port "$srt" \
        --srt-passphrase /live=correct-horse-battery --srt-latency 250 </dev/null >"$TMP/root.log" 2>&1 &
    pids+=("$!")
    says_srt() { log_has "$TMP/root.log" "root: listening on .*SRT on 127\.0\.0\.1:$srt \(latency 0\.25 seconds\)"; }
    check "a root with --srt-port $srt --srt-latency 250 takes SRT callers there" wait_until 10 says_srt
    leaked() { grep -qF correct-horse-battery "$TMP/root.log"; }
    check "the passphrase is in no log line" eval '! leaked'
else
    echo "INFO: libsrt is not installed: the root's SRT listener is not started here"
fi

# The control plane: the root asks the application, which takes `goodkey` only.
app=$(free_port)
python3 "$here/../control/app.py" --port "$app" --log "$TMP/app.jsonl" --keys goodkey </dev/null >"$TMP/app.log" 2>&1 &
pids+=("$!")
app_listens() { log_has "$TMP/app.log" "app listening on"; }
check "the application listens" wait_until 10 app_listens
port=$(free_port)
"$CLI" root --host 127.0.0.1 --port "$port" --mounts /live --key-verification-url "http://127.0.0.1:$app/verify" \
    </dev/null >"$TMP/control-root.log" 2>&1 &
pids+=("$!")
root_listens() { log_has "$TMP/control-root.log" "root: listening on"; }
check "a root with --key-verification-url and no --source-password starts" wait_until 10 root_listens
# publish KEY — a PUT source on /live with KEY as its password, for one second; prints the status Casty answered.
publish() {
    head -c 40000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X PUT -u "source:$1" \
        -H "Content-Type: audio/mpeg" --data-binary @- "http://127.0.0.1:$port/live" || true
}
refused=$(publish wrongkey)
check "the root refused a source whose key the application refused (HTTP $refused)" test "$refused" = 403
asked() { grep -q '"x-streaming-key": "wrongkey"' "$TMP/app.jsonl" 2>/dev/null; }
check "the application was asked about wrongkey" wait_until 5 asked

# `casty-cli tree` on a mount no source has published since the root started: said so, not 0 segments that look fine.
quiet_root=$(free_port)
"$CLI" root --host 127.0.0.1 --port "$quiet_root" --advertise "127.0.0.1:$quiet_root" --source-password hackme --mounts /live \
    </dev/null >"$TMP/quiet-root.log" 2>&1 &
pids+=("$!")
check "a root of /live with no source listens" wait_until 10 listening "$quiet_root"
"$CLI" tree "http://127.0.0.1:$quiet_root/live" >"$TMP/quiet-tree.txt" 2>&1 || true
check "casty-cli tree on a mount that never streamed says so: $(grep -m1 depth "$TMP/quiet-tree.txt")" \
    grep -qF "no stream yet (nothing has played here since it started)" "$TMP/quiet-tree.txt"

if ((failures > 0)); then
    echo "--- last output"; cat "$TMP"/*.log 2>/dev/null | tail -20
    exit 1
fi
