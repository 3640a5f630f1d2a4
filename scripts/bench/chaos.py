#!/usr/bin/env python3
"""chaos.py — good listeners' largest gap while abusive clients hit the server (issue 9). Standard library only.

Driven by scripts/bench/chaos.sh, which starts the servers; three subcommands:

    chaos.py run --target NAME=PORT/PATH [--target ...] [options] --json FILE
        Attaches --listeners good listeners to every target (one process, `listen`, that only reads and
        timestamps every recv() return), waits --warmup seconds, measures a --quiet window with no abuse, then
        abuses each target in turn for --abuse seconds (one process, `abuse`, aimed at that target alone) and
        measures that target's listeners over its own window. Prints the table; writes the figures to FILE.
    chaos.py summary FILE...
        The medians, row by row, of several runs' figures.
    chaos.py listen / chaos.py abuse
        The two worker processes (`run` starts them; see their --help).

Per window and target: for each good listener, its largest interval between two recv() returns inside the
window; the table gives the median of those over the listeners, their maximum, the 99th percentile of every
interval of every listener (pooled), and listeners that were disconnected (each reconnects at once).

Abuse kinds (--kinds, default all), bounded and on 127.0.0.1 only:
    fuzz       --fuzz-requests (2,000) mutated or garbage requests spread over the window, 4 at a time, each
               reading the answer for up to 0.3 s
    slowloris  --slowloris (200) connections sending one more header line every 2 s, never the blank line
    flood      bursts of --flood-burst (100) connections every 0.25 s, reset (SO_LINGER 0) 0.1 s later
    stall      --stall (50) listeners with a 4 KiB receive buffer that ask for the stream and never read
    idle       connections that send nothing, up to the server's descriptor limit (--nofile) plus 64, capped
               at --idle-max (4,000), reopened (at most 200/s) when the server closes them
"""
import argparse
import json
import os
import random
import resource
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

KINDS = ("fuzz", "slowloris", "flood", "stall", "idle")
HOST = "127.0.0.1"


def parse_target(text):
    """NAME=PORT/PATH → (name, port, path)."""
    name, _, rest = text.partition("=")
    port, slash, path = rest.partition("/")
    if not name or not port.isdigit():
        raise argparse.ArgumentTypeError(f"not NAME=PORT/PATH: {text}")
    return name, int(port), "/" + path if slash else "/"


def stream_request(port, path, agent):
    return (f"GET {path} HTTP/1.0\r\nHost: {HOST}:{port}\r\nUser-Agent: {agent}\r\n"
            "Icy-MetaData: 1\r\nAccept: */*\r\n\r\n").encode()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def tcp_state(sock):
    """The kernel's TCP state of `sock` (1 = established, 2 = SYN sent), 0 if it cannot tell."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except OSError:
        return 0


def reset_close(sock):
    """Closes with an RST (SO_LINGER 0): no TIME_WAIT left on the client side."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


# ---------------------------------------------------------------------------------------------------------------
# listen: the good listeners


def cmd_listen(args):
    """Keeps `listeners` readers on every target; on a line `stop` (or EOF) on stdin, writes every listener's
    recv() times (time.monotonic(), the system-wide CLOCK_MONOTONIC) as JSON to --out and exits."""
    raise_nofile()
    sel = selectors.DefaultSelector()
    times = {}       # (name, index) → [[t, ...], ...]: one list per connection (a new one after a reconnect)
    drops = {}       # (name, index) → [t, ...]: when the connection was lost
    buffer = bytearray(65536)

    def connect(name, port, path, index):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect((HOST, port))
        except BlockingIOError:
            pass
        times.setdefault((name, index), []).append([])
        sel.register(sock, selectors.EVENT_WRITE, ("connecting", name, port, path, index))

    for spec in args.target:
        name, port, path = parse_target(spec)
        for index in range(args.listeners):
            connect(name, port, path, index)
    sel.register(sys.stdin, selectors.EVENT_READ, ("stdin",))
    retry = []       # connections refused: tried again 0.1 s later, without blocking the others
    done = False
    while not done:
        due = [r for r in retry if r[0] <= time.monotonic()]
        retry = [r for r in retry if r[0] > time.monotonic()]
        for _, name, port, path, index in due:
            connect(name, port, path, index)
        for key, _ in sel.select(timeout=0.1 if retry else 1.0):
            data = key.data
            if data[0] == "stdin":
                line = sys.stdin.readline()
                if not line or line.strip() == "stop":
                    done = True
                continue
            sock = key.fileobj
            _, name, port, path, index = data
            if data[0] == "connecting":
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                try:
                    if error:
                        raise OSError(error, os.strerror(error))
                    sock.send(stream_request(port, path, "casty-chaos-good/1"))
                except OSError:
                    sel.unregister(sock)
                    sock.close()
                    retry.append((time.monotonic() + 0.1, name, port, path, index))
                    continue
                sel.modify(sock, selectors.EVENT_READ, ("reading", name, port, path, index))
                continue
            try:
                count = sock.recv_into(buffer)
            except BlockingIOError:
                continue
            except OSError:
                count = 0
            now = time.monotonic()
            if count > 0:
                times[(name, index)][-1].append(now)
                continue
            sel.unregister(sock)
            sock.close()
            if times[(name, index)][-1]:
                drops.setdefault((name, index), []).append(now)
            connect(name, port, path, index)
    result = {"targets": {}}
    for (name, index), runs in times.items():
        entry = result["targets"].setdefault(name, {"listeners": [], "drops": []})
        entry["listeners"].append(runs)
        entry["drops"].append(drops.get((name, index), []))
    with open(args.out, "w") as out:
        json.dump(result, out)


# ---------------------------------------------------------------------------------------------------------------
# abuse: what a hostile Internet does to a public port


def fuzz_request(rng, port):
    """One hostile request: a mutated valid one, garbage, or a request with something outsized."""
    base = [
        f"GET / HTTP/1.0\r\nHost: {HOST}:{port}\r\nIcy-MetaData: 1\r\nUser-Agent: fuzz\r\n\r\n",
        f"GET /status.json HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n",
        "SOURCE /live ICE/1.0\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\nContent-Type: audio/mpeg\r\n\r\n",
        "PUT /live HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
        "GET /admin/metadata?mount=/tone&mode=updinfo&song=%ZZ HTTP/1.0\r\n\r\n",
        f"OPTIONS * HTTP/1.1\r\nHost: {HOST}:{port}\r\nOrigin: http://evil\r\n\r\n",
    ]
    request = bytearray(rng.choice(base).encode())
    kind = rng.randrange(10)
    if kind == 0:                                   # random bytes
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 2048)))
    if kind == 1:                                   # flipped bytes
        for _ in range(rng.randrange(1, 8)):
            request[rng.randrange(len(request))] = rng.getrandbits(8)
    elif kind == 2:                                 # an overlong request line or header
        where = rng.randrange(len(request))
        request[where:where] = b"A" * rng.choice((1000, 8192, 20000, 70000))
    elif kind == 3:                                 # very many headers
        head = b"".join(b"X-Chaos-%d: %s\r\n" % (i, b"v" * rng.randrange(1, 100)) for i in range(rng.randrange(50, 600)))
        request[request.index(b"\r\n") + 2:request.index(b"\r\n") + 2] = head
    elif kind == 4:                                 # cut short (the server waits for the rest)
        request = request[:rng.randrange(1, len(request))]
    elif kind == 5:                                 # bare LF, NUL bytes, odd spacing
        request = request.replace(b"\r\n", rng.choice((b"\n", b"\r", b"\r\n\x00", b" \r\n\t")))
    elif kind == 6:                                 # nonsense method or version
        request[0:3] = rng.choice((b"GETT", b"\x00\x01\x02", b"get", b"BREW", b"G\xc3\xa9T"))
    elif kind == 7:                                 # absurd numbers
        request[-2:-2] = rng.choice((b"Content-Length: -1\r\n", b"Content-Length: 99999999999999999999\r\n",
                                     b"Range: bytes=-0-\r\n", b"Icy-MetaData: 99999999999\r\n"))
    elif kind == 8:                                 # duplicated pieces
        cut = rng.randrange(len(request))
        request = request[:cut] * rng.randrange(2, 20) + request[cut:]
    return bytes(request)


class Abuser:
    """Runs the chosen kinds of abuse against one port, each in a thread, until the deadline."""

    def __init__(self, args):
        self.args = args
        self.port = args.port
        self.path = args.path
        self.deadline = time.monotonic() + args.duration
        self.counts = {}
        self.lock = threading.Lock()

    def count(self, name, n=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def live(self):
        return time.monotonic() < self.deadline

    def open_socket(self, rcvbuf=None, timeout=None):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        return sock

    def fuzz(self):
        total = self.args.fuzz_requests
        spread = self.args.duration * 0.9
        started = time.monotonic()
        issued = [0]

        def worker(seed):
            rng = random.Random(seed)
            while self.live():
                with self.lock:
                    index = issued[0]
                    issued[0] += 1
                if index >= total:
                    return
                delay = started + index * spread / total - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sock = self.open_socket(timeout=1.0)
                try:
                    sock.connect((HOST, self.port))
                    sock.sendall(fuzz_request(rng, self.port))
                    sock.settimeout(0.3)
                    if sock.recv(4096):
                        self.count("fuzz_answered")
                except OSError:
                    self.count("fuzz_errors")
                finally:
                    self.count("fuzz_requests")
                    reset_close(sock)

        threads = [threading.Thread(target=worker, args=(self.args.seed * 100 + i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def slowloris(self):
        socks = [None] * self.args.slowloris
        lines = [0] * len(socks)
        tick = 0
        while self.live():
            for i in range(len(socks)):
                if socks[i] is None:
                    sock = self.open_socket(timeout=0.2)
                    try:
                        sock.connect((HOST, self.port))
                        sock.send(f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\n".encode())
                        socks[i] = sock
                        lines[i] = 0
                        self.count("slowloris_connections")
                    except OSError:
                        sock.close()
                        self.count("slowloris_errors")
                elif i % 4 == tick % 4:             # each connection: one more line every 2 s
                    try:
                        socks[i].send(b"X-Slow-%d: %d\r\n" % (lines[i], tick))
                        lines[i] += 1
                    except OSError:
                        socks[i].close()
                        socks[i] = None
                        self.count("slowloris_dropped")
            tick += 1
            time.sleep(0.5)
        for sock in socks:
            if sock is not None:
                reset_close(sock)

    def connect_nowait(self, errors):
        """A socket whose connect to the server has started (not waited for), or None (counted under errors)."""
        sock = self.open_socket()
        sock.setblocking(False)
        try:
            sock.connect((HOST, self.port))
        except BlockingIOError:
            pass
        except OSError:
            sock.close()
            self.count(errors)
            return None
        return sock

    def flood(self):
        while self.live():
            burst = []
            for _ in range(self.args.flood_burst):
                sock = self.connect_nowait("flood_errors")
                if sock is None:
                    continue
                burst.append(sock)
            self.count("flood_connections", len(burst))
            time.sleep(0.1)
            for sock in burst:
                reset_close(sock)
            time.sleep(0.15)

    def stall(self):
        socks = [None] * self.args.stall
        request = stream_request(self.port, self.path, "casty-chaos-stalled/1")
        while self.live():
            for i in range(len(socks)):
                if socks[i] is not None and tcp_state(socks[i]) != 1:
                    socks[i].close()
                    socks[i] = None
                    self.count("stall_dropped")
                if socks[i] is None:
                    sock = self.open_socket(rcvbuf=4096, timeout=0.5)
                    try:
                        sock.connect((HOST, self.port))
                        sock.send(request)
                        socks[i] = sock
                        self.count("stall_connections")
                    except OSError:
                        sock.close()
                        self.count("stall_errors")
            time.sleep(1.0)
        for sock in socks:
            if sock is not None:
                reset_close(sock)

    def idle(self):
        own = raise_nofile()
        wanted = min(self.args.nofile + 64, self.args.idle_max, own - 600)
        socks = []
        per_tick = 200 // 4                             # at most 200 new connections a second
        while self.live():
            alive = []
            for sock in socks:
                if tcp_state(sock) in (1, 2):
                    alive.append(sock)
                else:
                    sock.close()
                    self.count("idle_dropped")
            socks = alive
            room = wanted - len(socks)
            if room > 0:
                for _ in range(min(room, per_tick if self.counts.get("idle_connections", 0) >= wanted else wanted)):
                    sock = self.connect_nowait("idle_errors")
                    if sock is None:
                        break
                    socks.append(sock)
                    self.count("idle_connections")
            with self.lock:
                self.counts["idle_held_max"] = max(self.counts.get("idle_held_max", 0), len(socks))
            time.sleep(0.25)
        for sock in socks:
            reset_close(sock)

    def run(self):
        threads = [threading.Thread(target=getattr(self, kind)) for kind in self.args.kinds]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.counts


def cmd_abuse(args):
    raise_nofile()
    counts = Abuser(args).run()
    print(json.dumps(counts, sort_keys=True))


# ---------------------------------------------------------------------------------------------------------------
# run: the schedule, and the figures


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def window_figures(entry, start, end):
    """Largest gap per listener, pooled p99 and drops, from the recv() times inside [start, end]."""
    largest, intervals, drops = [], [], 0
    for runs, lost in zip(entry["listeners"], entry["drops"]):
        gaps = []
        for run in runs:
            inside = [t for t in run if start <= t <= end]
            gaps += [b - a for a, b in zip(inside, inside[1:])]
        drops += sum(1 for t in lost if start <= t <= end)
        if gaps:
            largest.append(max(gaps))
            intervals += gaps
    return {
        "listeners": len(largest),
        "median_largest": statistics.median(largest) if largest else None,
        "max_largest": max(largest) if largest else None,
        "p99": percentile(intervals, 0.99),
        "drops": drops,
    }


def print_table(rows, title):
    print(title)
    print("| server | window | listeners | median largest gap (s) | max largest gap (s) | p99 inter-arrival (s) | disconnects |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        cells = [f"{row[k]:.3f}" if isinstance(row[k], float) else ("–" if row[k] is None else str(row[k]))
                 for k in ("median_largest", "max_largest", "p99")]
        print(f"| {row['server']} | {row['window']} | {row['listeners']} | {' | '.join(cells)} | {row['drops']} |")


def cmd_run(args):
    targets = [parse_target(t) for t in args.target]
    me = os.path.abspath(__file__)
    listen = subprocess.Popen(
        [sys.executable, me, "listen", "--listeners", str(args.listeners), "--out", args.json + ".times"]
        + [arg for t in args.target for arg in ("--target", t)],
        stdin=subprocess.PIPE, text=True)
    windows = []        # (target name or None for all, window label, start, end)
    abuse_counts = {}
    try:
        time.sleep(args.warmup)
        start = time.monotonic()
        time.sleep(args.quiet)
        windows.append((None, "no abuse", start, time.monotonic()))
        for name, port, path in targets:
            print(f"chaos: abusing {name} (port {port}) for {args.abuse} s: {','.join(args.kinds)}", file=sys.stderr)
            start = time.monotonic()
            out = subprocess.run(
                [sys.executable, me, "abuse", "--port", str(port), "--path", path, "--duration", str(args.abuse),
                 "--kinds", ",".join(args.kinds), "--nofile", str(args.nofile), "--seed", str(args.seed),
                 "--fuzz-requests", str(args.fuzz_requests), "--slowloris", str(args.slowloris),
                 "--flood-burst", str(args.flood_burst), "--stall", str(args.stall), "--idle-max", str(args.idle_max)],
                stdout=subprocess.PIPE, text=True, check=True, timeout=args.abuse + 30)
            end = time.monotonic()
            windows.append((name, "abuse", start, end))
            abuse_counts[name] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"chaos: {name}: {abuse_counts[name]}", file=sys.stderr)
            time.sleep(args.settle)
    finally:
        if listen.poll() is None:
            listen.stdin.write("stop\n")
            listen.stdin.flush()
            listen.wait(timeout=30)
    with open(args.json + ".times") as times_file:
        times = json.load(times_file)["targets"]
    os.remove(args.json + ".times")
    rows = []
    for name, _, _ in targets:
        for target, label, start, end in windows:
            if target in (None, name):
                rows.append({"server": name, "window": label, **window_figures(times[name], start, end)})
    result = {"rows": rows, "abuse": abuse_counts, "kinds": args.kinds,
              "windows": {"quiet": args.quiet, "abuse": args.abuse}, "listeners": args.listeners}
    with open(args.json, "w") as out:
        json.dump(result, out)
    print_table(rows, f"chaos: {args.listeners} good listeners per server; no abuse {args.quiet} s; "
                      f"abuse {args.abuse} s per server ({','.join(args.kinds)})")


def cmd_summary(args):
    runs = []
    for path in args.files:
        with open(path) as f:
            runs.append(json.load(f))
    order, grouped = [], {}
    for run in runs:
        for row in run["rows"]:
            key = (row["server"], row["window"])
            if key not in grouped:
                order.append(key)
                grouped[key] = []
            grouped[key].append(row)
    rows = []
    for key in order:
        group = grouped[key]

        def median(field):
            values = [r[field] for r in group if r[field] is not None]
            return statistics.median(values) if values else None

        rows.append({"server": key[0], "window": key[1], "listeners": min(r["listeners"] for r in group),
                     "median_largest": median("median_largest"), "max_largest": median("max_largest"),
                     "p99": median("p99"), "drops": int(median("drops"))})
    print_table(rows, f"chaos: medians of {len(runs)} run(s)")
    for i, run in enumerate(runs, 1):
        print(f"run {i}: " + "; ".join(f"{r['server']} {r['window']}: "
                                       f"{r['median_largest'] or 0:.3f}/{r['max_largest'] or 0:.3f}/{r['p99'] or 0:.3f}"
                                       for r in run["rows"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def kinds(text):
        chosen = [k for k in text.split(",") if k]
        if not chosen or any(k not in KINDS for k in chosen):
            raise argparse.ArgumentTypeError(f"kinds are {','.join(KINDS)}")
        return chosen

    def abuse_options(p):
        p.add_argument("--kinds", type=kinds, default=list(KINDS), help="comma-separated: " + ",".join(KINDS))
        p.add_argument("--nofile", type=int, default=2048, help="the servers' descriptor limit (idle aims past it)")
        p.add_argument("--seed", type=int, default=9)
        p.add_argument("--fuzz-requests", type=int, default=2000)
        p.add_argument("--slowloris", type=int, default=200)
        p.add_argument("--flood-burst", type=int, default=100)
        p.add_argument("--stall", type=int, default=50)
        p.add_argument("--idle-max", type=int, default=4000)

    p = sub.add_parser("run", help="measure the targets without, then with abuse")
    p.add_argument("--target", action="append", required=True, help="NAME=PORT/PATH (repeatable)")
    p.add_argument("--listeners", type=int, default=20)
    p.add_argument("--warmup", type=float, default=4.0)
    p.add_argument("--quiet", type=float, default=20.0, help="seconds of the window without abuse")
    p.add_argument("--abuse", type=float, default=20.0, help="seconds of abuse per target")
    p.add_argument("--settle", type=float, default=2.0, help="seconds between two targets' abuse")
    p.add_argument("--json", required=True, help="where the figures go")
    abuse_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("summary", help="medians of several runs' figures")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("listen", help="the good listeners (started by run)")
    p.add_argument("--target", action="append", required=True)
    p.add_argument("--listeners", type=int, default=20)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("abuse", help="abuse one port (started by run)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/")
    p.add_argument("--duration", type=float, default=20.0)
    abuse_options(p)
    p.set_defaults(func=cmd_abuse)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
