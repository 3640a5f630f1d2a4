#!/usr/bin/env bash
# scripts/bench/srt-idle.sh — what SRT callers that send nothing cost a station server: its RSS before, with N
# idle callers (the right passphrase, a stream ID of a listed mount, not a byte of audio), and after they are gone.
#
#     CASTY_CLI=/path/to/casty-cli bash scripts/bench/srt-idle.sh            # 200 callers, held 5 s
#     CALLERS=500 HOLD=8 CASTY_CLI=… bash scripts/bench/srt-idle.sh
#
# The callers are libsrt sockets opened from python3 through ctypes (Debian's libsrt, as Casty loads it), one
# connect each, from one process. Casty admits at most 16 callers waiting to publish at once, 4 of them from one
# address — all of these come from 127.0.0.1, so 4 are admitted — (the rest are rejected in the handshake with
# 1402), and gives each caller libsrt buffers of 4096 packets: the script prints how many
# connected, how many were rejected, and the RSS at each step, read from /proc/PID/status.
set -euo pipefail
CLI=${CASTY_CLI:?set CASTY_CLI to a casty-cli binary}
CALLERS=${CALLERS:-200}
HOLD=${HOLD:-5}
PORT=${PORT:-27380}
SRT_PORT=$((PORT + 1))
TMP=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT

rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

"$CLI" server --host 127.0.0.1 --port "$PORT" --srt-port "$SRT_PORT" --source-password hackme --mounts /live \
    --srt-passphrase correct-horse-battery >"$TMP/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q "SRT" "$TMP/server.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
before=$(rss "$server")

python3 - "$SRT_PORT" "$CALLERS" "$HOLD" "$server" <<'EOF'
import ctypes, ctypes.util, socket, struct, sys, time
port, callers, hold, pid = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
name = next((n for n in ("libsrt-gnutls.so.1.5", "libsrt-openssl.so.1.5", "libsrt.so.1.5", ctypes.util.find_library("srt")) if n), None)
srt = ctypes.CDLL(name)
srt.srt_startup()
SRTO_STREAMID, SRTO_PASSPHRASE = 46, 26
class Address(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_ushort), ("addr", ctypes.c_uint32), ("zero", ctypes.c_char * 8)]
address = Address(socket.AF_INET, socket.htons(port), struct.unpack("<I", socket.inet_aton("127.0.0.1"))[0], b"")
connected, sockets = 0, []
for _ in range(callers):
    s = srt.srt_create_socket()
    for option, value in ((SRTO_STREAMID, b"live"), (SRTO_PASSPHRASE, b"correct-horse-battery")):
        srt.srt_setsockflag(s, option, value, len(value))
    if srt.srt_connect(s, ctypes.byref(address), ctypes.sizeof(address)) == 0:
        connected += 1
    sockets.append(s)
time.sleep(hold)
with open(f"/proc/{pid}/status") as status:
    during = next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
print(f"callers: {connected} of {callers} connected, {callers - connected} rejected; RSS with them {during:.1f} MB", flush=True)
for s in sockets:
    srt.srt_close(s)
srt.srt_cleanup()
EOF
sleep 3
echo "RSS before: $before MB; after they left: $(rss "$server") MB"
grep -E "SRT callers? refused|too many waiting" "$TMP/server.log" | head -3 || true
