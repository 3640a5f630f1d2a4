#!/usr/bin/env bash
# scripts/bench/rtmp-handshakes.sh — what RTMP handshakes cost the loop every port is served on: N clients connect
# to a station server's RTMP port, send C0 and C1, read S0 S1 S2 and close, from 4 threads of one python3 process;
# meanwhile /status.json on the HTTP port is asked every 50 ms. Prints the handshakes per second and the
# /status.json answer times (p50 / max, ms) during the flood.
#
#     CASTY_CLI=/path/to/casty-cli bash scripts/bench/rtmp-handshakes.sh       # 3000 handshakes
#     COUNT=10000 CASTY_CLI=… bash scripts/bench/rtmp-handshakes.sh
set -euo pipefail
CLI=${CASTY_CLI:?set CASTY_CLI to a casty-cli binary}
COUNT=${COUNT:-3000}
PORT=${PORT:-27390}
RTMP_PORT=$((PORT + 1))
TMP=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT

"$CLI" server --host 127.0.0.1 --port "$PORT" --rtmp-port "$RTMP_PORT" --source-password hackme --mounts /live \
    >"$TMP/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "rtmp" "$TMP/server.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.5

python3 - "$PORT" "$RTMP_PORT" "$COUNT" <<'PY'
import os, socket, statistics, sys, threading, time, urllib.request
port, rtmp, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
c1 = bytes([3]) + os.urandom(1536)
done, lock, status, flooding = [0], threading.Lock(), [], [True]

def handshakes(n):
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", rtmp), timeout=30)
        s.sendall(c1)
        got = 0
        while got < 1 + 1536 + 1536:
            chunk = s.recv(8192)
            if not chunk: break
            got += len(chunk)
        s.close()
        with lock: done[0] += 1

def ask():
    while flooding[0]:
        start = time.monotonic()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json", timeout=30).read()
            status.append((time.monotonic() - start) * 1000)
        except Exception:
            status.append(float("inf"))
        time.sleep(0.05)

asker = threading.Thread(target=ask); asker.start()
start = time.monotonic()
threads = [threading.Thread(target=handshakes, args=(count // 4,)) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.monotonic() - start
flooding[0] = False; asker.join()
print(f"rtmp handshakes: {done[0]} in {elapsed:.1f} s = {done[0] / elapsed:.0f}/s; "
      f"/status.json during them: p50 {statistics.median(status):.1f} ms, max {max(status):.1f} ms ({len(status)} asked)")
PY
