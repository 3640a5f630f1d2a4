#!/usr/bin/env python3
"""probe.py — one listener that notes when each numbered segment of a Casty node arrives.

  probe.py record http://HOST:PORT/ SECONDS OUT
      GET with `X-Casty-Numbered: 1`; for every whole segment one line "arrival_ms seq cut_ms" in OUT
      (arrival: this machine's wall clock when the segment's metadata block was read; cut: CastyTime, the
      wall clock when the root cut it). Stops after SECONDS.
  probe.py stats OUT EVENT_MS
      around an event (a kill, a link going down) at wall-clock EVENT_MS: segments, gaps and duplicates in the
      numbering, the usual lag (median of arrival − cut for segments cut before the event, burst left out),
      the worst lag of the segments cut after it, the extra delay (worst − usual: how late the repair made
      them), and the longest silence between two arrivals.
"""
import socket
import sys
import time
from statistics import median
from urllib.parse import urlsplit


def now_ms():
    return int(time.time() * 1000)


def record(url, seconds, out_path):
    parts = urlsplit(url)
    deadline = time.monotonic() + float(seconds)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=5)
    path = parts.path or "/"
    sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nIcy-MetaData: 1\r\n"
                 f"X-Casty-Numbered: 1\r\nUser-Agent: casty-tree-probe\r\n\r\n".encode())
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("probe: closed before the headers")
        buffer += chunk
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    metaint = None
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "icy-metaint":
            metaint = int(value.strip())
    if metaint is None:
        raise SystemExit("probe: no icy-metaint in the reply:\n" + head.decode("latin-1"))
    with open(out_path, "w") as out:
        while True:
            # a segment: metaint audio bytes, a length byte k, 16·k bytes of metadata
            while len(buffer) < metaint + 1 or len(buffer) < metaint + 1 + 16 * buffer[metaint]:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                sock.settimeout(left)
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    return
                if not chunk:
                    return
                buffer += chunk
            arrival = now_ms()
            k = buffer[metaint]
            meta = buffer[metaint + 1:metaint + 1 + 16 * k].rstrip(b"\0").decode("utf-8", "replace")
            buffer = buffer[metaint + 1 + 16 * k:]
            fields = {}
            for item in meta.split("';"):
                key, _, value = item.partition("='")
                if key:
                    fields[key.strip()] = value
            out.write(f"{arrival} {fields.get('CastySeq', '-')} {fields.get('CastyTime', '-')}\n")
            out.flush()


def stats(path, event_ms):
    event_ms = int(event_ms)
    rows = []
    for line in open(path):
        arrival, seq, cut = line.split()
        if seq != "-" and cut != "-":
            rows.append((int(arrival), int(seq), int(cut)))
    if not rows:
        print("segments=0")
        return
    gaps = dups = missing = 0
    for (_, a, _), (_, b, _) in zip(rows, rows[1:]):
        if b <= a:
            dups += 1
        elif b != a + 1:
            gaps += 1
            missing += b - a - 1
    connected = rows[0][0]
    live = [r for r in rows if r[2] >= connected - 50]          # leave out the burst (cut before we connected)
    before = [r[0] - r[2] for r in live if r[2] < event_ms]
    after = [r[0] - r[2] for r in live if r[2] >= event_ms - 600]
    usual = median(before) if before else None
    worst = max(after) if after else None
    silence = max((b[0] - a[0] for a, b in zip(rows, rows[1:])), default=0)
    extra = worst - usual if usual is not None and worst is not None else None
    print(f"segments={len(rows)} gaps={gaps} missing={missing} dups={dups} usual_lag_ms={usual}"
          f" worst_lag_after_ms={worst} extra_ms={extra} longest_silence_ms={silence}")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "record":
        try:
            record(sys.argv[2], sys.argv[3], sys.argv[4])
        except OSError as error:
            raise SystemExit(f"probe: {error}")
    elif len(sys.argv) == 4 and sys.argv[1] == "stats":
        stats(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
