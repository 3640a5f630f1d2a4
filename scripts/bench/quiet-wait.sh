#!/usr/bin/env bash
# scripts/bench/quiet-wait.sh — how long players wait for audio while a source is quiet: ffmpeg publishes AAC
# (128 kbit/s, 6 s of a 440 Hz tone, then digital silence, on which ffmpeg's encoder spends ~4.5 kbit/s) to a
# Casty root on loopback, a Casty branch relays it, and one raw ICY listener on each reads the stream for
# LISTEN_SECONDS (default 30), noting the time of every read. It prints, for each, the longest time between two reads
# and the reads that came after a wait of over a second.
#
#     CASTY_CLI=/path/to/casty-cli bash scripts/bench/quiet-wait.sh
#
# An 8 KiB relay segment of that silence fills in about 15 s: a build that sends only whole segments shows waits
# that long; one that hands a slow segment on in pieces (StreamPiece) a second or two. Needs ffmpeg, python3.
set -euo pipefail
CASTY_CLI="${CASTY_CLI:?set CASTY_CLI to a casty-cli binary}"
SECONDS_LISTENED="${LISTEN_SECONDS:-30}"
TMP=$(mktemp -d /tmp/casty-quiet.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ROOT_PORT=$(free_port); BRANCH_PORT=$(free_port)

"$CASTY_CLI" root --host 127.0.0.1 --port "$ROOT_PORT" --source-password quiet-pw --mounts /live >"$TMP/root.log" 2>&1 &
"$CASTY_CLI" branch --root "http://127.0.0.1:$ROOT_PORT/live" --host 127.0.0.1 --port "$BRANCH_PORT" >"$TMP/branch.log" 2>&1 &
sleep 1
ffmpeg -nostdin -v error -re -f lavfi -i "sine=f=440:d=$((SECONDS_LISTENED + 10))" -af "volume=enable='gte(t,6)':volume=0" \
    -c:a aac -b:a 128k -content_type audio/aac -f adts "icecast://source:quiet-pw@127.0.0.1:$ROOT_PORT/live" >"$TMP/ffmpeg.log" 2>&1 &
sleep 2

listen() {  # listen NAME PORT: reads the stream, prints the longest waits between reads
    python3 - "$1" "$2" "$SECONDS_LISTENED" <<'PY'
import socket, sys, time
name, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
start = last = time.time(); total = 0; waits = []
while time.time() - start < seconds:
    data = s.recv(65536)
    if not data: break
    now = time.time(); total += len(data); waits.append(now - last); last = now
long = [w for w in waits if w > 1]
print(f"{name}: {len(waits)} reads, {total} bytes in {seconds:.0f} s; longest wait {max(waits):.2f} s; "
      f"{len(long)} waits over 1 s (median of those {sorted(long)[len(long)//2] if long else 0:.2f} s)")
PY
}
listen root "$ROOT_PORT" >"$TMP/root.txt" & at_root=$!
listen branch "$BRANCH_PORT" >"$TMP/branch.txt" & at_branch=$!
wait "$at_root" "$at_branch"
cat "$TMP/root.txt" "$TMP/branch.txt"
