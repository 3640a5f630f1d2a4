#!/usr/bin/env python3
"""ts.py — MPEG transport streams that lie, for scripts/station/srt.sh (Casty's SRT ingest must survive them).

  ts.py mangle IN.ts OUT.ts [--seed N]   a copy of IN.ts (188-byte packets, as ffmpeg writes them) with, in turn:
                                         packets dropped (continuity counter gaps), packets sent twice, PES
                                         lengths that lie (longer and shorter than the PES), garbage between
                                         packets (some with 0x47 in it), damaged packets (transport_error) and
                                         packets of random bytes on the audio PID. Prints what it did.
  ts.py garbage OUT N [--seed N]         N random bytes with no 0x47 every 188 bytes and no audio frames.
  ts.py lossy-relay --listen P --to Q --loss F [--seed N]
                                         a UDP relay on 127.0.0.1:P to 127.0.0.1:Q that drops the fraction F of
                                         the datagrams in each direction (for kernels without netem); prints
                                         its counts when it ends (SIGTERM).
"""
import argparse
import random
import select
import signal
import socket
import sys

SIZE = 188


def packets(data):
    return [bytearray(data[i:i + SIZE]) for i in range(0, len(data) - SIZE + 1, SIZE) if data[i] == 0x47]


def pid(p):
    return ((p[1] & 0x1F) << 8) | p[2]


def payload_start(p):
    control = (p[3] >> 4) & 3
    return 5 + p[4] if control == 3 else (4 if control == 1 else SIZE)


def cmd_mangle(a):
    rnd = random.Random(a.seed)
    data = open(a.input, "rb").read()
    pkts = packets(data)
    # The audio PID: the PID of PES starts (00 00 01 Cx) other than the PSI PIDs.
    audio = None
    for p in pkts:
        s = payload_start(p)
        if p[1] & 0x40 and s + 4 <= SIZE and p[s:s + 3] == b"\x00\x00\x01" and 0xC0 <= p[s + 3] <= 0xDF:
            audio = pid(p)
            break
    if audio is None:
        print("ts.py: no MPEG audio PES in %s" % a.input, file=sys.stderr)
        return 1
    out = bytearray()
    counts = dict(dropped=0, duplicated=0, lying=0, garbage=0, damaged=0, random=0)
    for index, p in enumerate(pkts):
        # The first second is left intact, so that the PAT, PMT and first frames arrive.
        kind = rnd.randrange(40) if index > 100 and pid(p) == audio else -1
        if kind > 5 and p[1] & 0x40 and rnd.randrange(4) == 0:
            kind = 2  # a PES start: a quarter of them lie about their length
        if kind == 0:
            counts["dropped"] += 1
            continue
        if kind == 1:
            out += p
            counts["duplicated"] += 1
        elif kind == 2 and p[1] & 0x40:
            s = payload_start(p)
            if s + 6 <= SIZE:
                length = rnd.choice([1, 7, 0xFFFF, rnd.randrange(0x10000)])
                p[s + 4], p[s + 5] = length >> 8, length & 0xFF
                counts["lying"] += 1
        elif kind == 3:
            junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400)))
            out += b"\x47" + junk
            counts["garbage"] += 1
        elif kind == 4:
            p[1] |= 0x80
            counts["damaged"] += 1
        elif kind == 5:
            r = bytearray(rnd.randrange(256) for _ in range(SIZE))
            r[0], r[1], r[2] = 0x47, (r[1] & 0xE0) | (audio >> 8), audio & 0xFF
            out += r
            counts["random"] += 1
        out += p
    open(a.output, "wb").write(out)
    print("packets=%d audio_pid=%d %s" % (len(pkts), audio, " ".join("%s=%d" % kv for kv in sorted(counts.items()))))
    return 0


def cmd_garbage(a):
    rnd = random.Random(a.seed)
    # Bytes below 0x47 only: no sync byte, and no 0xFF that could start an MP3 or ADTS header.
    open(a.output, "wb").write(bytes(rnd.randrange(0x47) for _ in range(a.bytes)))
    return 0


def cmd_lossy_relay(a):
    rnd = random.Random(a.seed)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", a.listen))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.connect(("127.0.0.1", a.to))
    caller = None
    counts = dict(up=0, up_dropped=0, down=0, down_dropped=0)
    running = [True]

    def stop(*_):
        running[0] = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("RELAY 127.0.0.1:%d -> 127.0.0.1:%d loss %.3f" % (a.listen, a.to, a.loss), flush=True)
    while running[0]:
        try:
            ready, _, _ = select.select([front, back], [], [], 0.2)
        except InterruptedError:
            continue
        for sock in ready:
            try:
                if sock is front:
                    data, caller = front.recvfrom(65536)
                    counts["up"] += 1
                    if rnd.random() < a.loss:
                        counts["up_dropped"] += 1
                    else:
                        back.send(data)
                else:
                    data = back.recv(65536)
                    counts["down"] += 1
                    if caller is None or rnd.random() < a.loss:
                        counts["down_dropped"] += 1
                    else:
                        front.sendto(data, caller)
            except OSError:
                pass  # the far side is not there (yet, or any more): UDP loses it, SRT sends again
    print("RELAY " + " ".join("%s=%d" % kv for kv in sorted(counts.items())), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mangle")
    m.add_argument("input")
    m.add_argument("output")
    m.add_argument("--seed", type=int, default=15)
    g = sub.add_parser("garbage")
    g.add_argument("output")
    g.add_argument("bytes", type=int)
    g.add_argument("--seed", type=int, default=15)
    r = sub.add_parser("lossy-relay")
    r.add_argument("--listen", type=int, required=True)
    r.add_argument("--to", type=int, required=True)
    r.add_argument("--loss", type=float, default=0.05)
    r.add_argument("--seed", type=int, default=15)
    a = p.parse_args()
    return {"mangle": cmd_mangle, "garbage": cmd_garbage, "lossy-relay": cmd_lossy_relay}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
