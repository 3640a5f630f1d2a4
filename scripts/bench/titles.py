#!/usr/bin/env python3
"""titles.py — how soon live title events reach 1,000 Server-Sent Events and 1,000 WebSocket clients of one mount.

  python3 scripts/bench/titles.py --cli .build/release/casty-cli [--clients 1000] [--seconds 20] [--every 2]

Starts `casty-cli server --station /radio --title-every EVERY` on a free loopback port, opens CLIENTS watchers of
`/api/mounts/radio/events` (SSE) and CLIENTS of `/api/mounts/radio/ws` (WebSocket), plus one of each that never
reads (its receive buffer made small), and listens for SECONDS. Every title event carries `at`, the wall-clock ms
at which the segment carrying the title was cut; a client's lag is the moment it read the event minus `at` (the
current title a watcher is greeted with when it connects is left out).

Prints, per kind: clients connected, title events received, lag p50 / p99 / max over every (client, event), and
the worst "last client" lag of an event; then whether the server dropped the silent watchers (and why), the server's RSS
before and after, and whether any reading client missed an event. A figure, not a bound: exits 1 only if the
server did not start or a kind received no event at all. Lags are taken from the kernel's arrival time of each read
(SO_TIMESTAMPNS), so the client, one Python thread, does not add its own reading time to them.
"""
import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import time
import json
import selectors
import struct


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def now_ms():
    return time.time() * 1000


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: the kernel stamps each read with its arrival


class Watcher:
    """One watcher socket, read without blocking; each event's lag is taken from the kernel's arrival time of the
    bytes that completed it (SO_TIMESTAMPNS), so the client's own reading speed does not count."""

    def __init__(self, kind, port):
        self.kind = kind
        self.lags = []        # (at, lag_ms) per title change read after the watcher connected
        self.connected = False
        self.closed_by_server = False
        self.since = 0.0      # when it connected: the title it is greeted with (cut earlier) is left out
        self.buffer = b""
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.connect(("127.0.0.1", port))
        path = "/api/mounts/radio/events" if kind == "sse" else "/api/mounts/radio/ws"
        extra = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                 + base64.b64encode(os.urandom(16)).decode() + "\r\nSec-WebSocket-Version: 13\r\n") if kind == "ws" else ""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        self.sock.setblocking(False)

    def readable(self):
        """Reads what arrived; False once the server closed the connection."""
        try:
            data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return True
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.closed_by_server = True
            return False
        arrived = now_ms()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                arrived = seconds * 1000 + nanoseconds / 1e6
        self.buffer += data
        if not self.connected:
            if b"\r\n\r\n" not in self.buffer:
                return True
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            status = head.split(b"\r\n")[0]
            if b" 200 " not in status and b" 101 " not in status:
                raise RuntimeError(f"{self.kind}: {status!r}")
            self.connected = True
            self.since = now_ms()
        while True:
            payload = self.next_event()
            if payload is None:
                return True
            event = json.loads(payload)
            if event["at"] >= self.since:
                self.lags.append((event["at"], arrived - event["at"]))

    def next_event(self):
        if self.kind == "sse":
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                if line.startswith(b"data: "):
                    return line[6:]
            return None
        while len(self.buffer) >= 2:
            length, at = self.buffer[1] & 0x7F, 2
            if length == 126:
                if len(self.buffer) < 4:
                    return None
                length, at = int.from_bytes(self.buffer[2:4], "big"), 4
            if len(self.buffer) < at + length:
                return None
            opcode, payload, self.buffer = self.buffer[0] & 0x0F, self.buffer[at:at + length], self.buffer[at + length:]
            if opcode == 1:
                return payload
            if opcode == 9:
                # A ping (the server's heartbeat): answered with a pong holding the same payload, masked as a
                # client's frames must be, as a browser does by itself.
                mask = os.urandom(4)
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask
                                  + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        return None


def silent_watcher(port, kind):
    """A watcher that never reads: a small receive buffer, the request sent, then nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    path = "/api/mounts/radio/events" if kind == "sse" else "/api/mounts/radio/ws"
    extra = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
             + base64.b64encode(os.urandom(16)).decode() + "\r\nSec-WebSocket-Version: 13\r\n") if kind == "ws" else ""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
    return sock


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def run(args, port):
    watchers = [Watcher(kind, port) for kind in ("sse", "ws") for _ in range(args.clients)]
    selector = selectors.DefaultSelector()
    for w in watchers:
        selector.register(w.sock, selectors.EVENT_READ, w)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            if not key.data.readable():
                selector.unregister(key.fileobj)
    for w in watchers:
        w.sock.close()
    return watchers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", default=os.environ.get("CASTY_CLI", "casty-cli"))
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--every", type=int, default=2)
    args = parser.parse_args()

    port = free_port()
    log = open(f"/tmp/casty-titles-{port}.log", "w")
    server = subprocess.Popen([args.cli, "server", "--port", str(port), "--host", "127.0.0.1", "--source-password",
                               "unused", "--station", "/radio", "--title-every", str(args.every)],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("titles: the server did not start")
        time.sleep(1)
        rss_before = rss_kb(server.pid)
        silent = [silent_watcher(port, "sse"), silent_watcher(port, "ws")]
        watchers = run(args, port)
        rss_after = rss_kb(server.pid)
        # Whether the server let a silent watcher go shows in its log (the watcher's own socket still holds the
        # events it never read, so peeking at it would not tell).
        silent_ports = [sock.getsockname()[1] for sock in silent]
        for sock in silent:
            sock.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    log.close()
    with open(log.name, errors="replace") as f:
        lines = f.read().splitlines()
    silent_drops = [next((line.split(" dropped: ", 1)[1] for line in lines
                          if f"127.0.0.1:{p} dropped: " in line), None) for p in silent_ports]

    print(f"titles: {args.clients} SSE + {args.clients} WebSocket watchers, {args.seconds:g} s, a title every "
          f"{args.every} s ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print("| kind | connected | events per client (min / max) | lag p50 / p99 / max ms | last client per event, max ms | dropped by the server |")
    print("|---|--:|--:|--:|--:|--:|")
    failed = False
    for kind, name in (("sse", "Server-Sent Events"), ("ws", "WebSocket")):
        group = [w for w in watchers if w.kind == kind]
        lags = [lag for w in group for (_, lag) in w.lags]
        if not lags:
            failed = True
        counts = [len(w.lags) for w in group]
        last = {}
        for w in group:
            for at, lag in w.lags:
                last[at] = max(last.get(at, 0), lag)
        print(f"| {name} | {sum(w.connected for w in group)} | {min(counts)} / {max(counts)} | "
              f"{percentile(lags, 0.5):.1f} / {percentile(lags, 0.99):.1f} / {max(lags, default=float('nan')):.1f} | "
              f"{max(last.values(), default=float('nan')):.1f} | {sum(w.closed_by_server for w in group)} |")
    for name, drop in zip(("SSE", "WebSocket"), silent_drops):
        print(f"silent {name} watcher (never reads): " + (f"dropped by the server: {drop}" if drop else "still connected"))
    print(f"server RSS {rss_before} → {rss_after} kB")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
