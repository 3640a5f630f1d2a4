#!/usr/bin/env python3
"""icy.py — the small network tools of scripts/station/ (standard library only).

  icy.py source --port P --mount /m [--method PUT|SOURCE] [--expect] [--user U] [--password PW]
                [--content-type T] [--header 'K: V']... [--file F.mp3 | --garbage]
                [--rate BYTES_PER_S] [--seconds S] [--stall S]
      A source client. Sends the request head (PUT: HTTP/1.1, SOURCE: HTTP/1.0), waits for the answer
      (`HTTP/1.1 100 Continue` first with --expect), prints one line per event:
          LOCAL 127.0.0.1:PORT              the source's own address (for the log checks)
          INTERIM <status line>             a 1xx answer
          STATUS <code> <status line>       the final answer (code 000: none within 5 s)
          HEADER <line> / BODY <repr>       the rest of a refusal
          SENT <bytes> <seconds>            when the paced body ends
          STALL                             from now on nothing is sent, the socket stays open
          CLOSED <seconds-into-stall>       the server closed the connection (EOF or reset)
      The body (FILE in a loop, or random bytes with --garbage) is paced at --rate (default 16000 B/s,
      128 kbit/s) for --seconds, then the source stalls for --stall seconds. Exit 0 when the answer was 2xx.

  icy.py listen --url URL [--meta] [--seconds S] [--ua UA] [--until-title T] [--match NAME=FILE]...
                [--json OUT.json] [--audio OUT.bin]
      A listener on ONE TCP connection. With --meta sends Icy-MetaData: 1 and checks the framing: after
      every icy-metaint audio bytes a length byte, a block of 16*k bytes of `Key='value';` text and NUL
      padding. Records the arrival time of the audio, the largest gap between two reads with audio, every
      StreamTitle, whether and when the server closed the connection. With --match, every 0.5 s window of
      audio is labelled with the NAME whose FILE contains most of 24 probes of 48 bytes taken from it
      ("other" when none does). Prints the summary as JSON (and writes it to --json); exit 0 when the
      answer was 200, the framing held and (with --until-title) the title came.

  icy.py phases JSON NAME:T0:T1:LABEL...
      From a listen summary: for each phase (epoch seconds T0..T1) the share of windows labelled LABEL.
      Prints one line per phase: `NAME LABEL share=0.93 windows=14 labels=live1:13,other:1`.

  icy.py pcm FILE.wav
      `seconds=4.00 nonzero=0.998 rms_db=-12.1 freq=440` (16-bit PCM, first channel; freq from zero
      crossings). Exit 0 when the file has audio at all.

  icy.py status-mounts FILE.json
      Reads an Icecast-style /status.json: prints `array` or `object` (what icestats.source is) and the
      mounts (path of each listenurl, or its "mount" field), one per line.
"""
import argparse
import base64
import json
import random
import re
import socket
import sys
import time
import wave
from urllib.parse import urlsplit


def out(line):
    print(line, flush=True)


def read_head(sock, deadline, data=b""):
    """Read until CRLFCRLF (or LFLF); returns (head bytes, rest) or (None, data) on timeout/EOF."""
    while True:
        for sep in (b"\r\n\r\n", b"\n\n"):
            i = data.find(sep)
            if i >= 0:
                return data[:i], data[i + len(sep):]
        remaining = deadline - time.time()
        if remaining <= 0:
            return None, data
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, OSError):
            return None, data
        if not chunk:
            return None, data
        data += chunk


def status_code(line):
    m = re.match(r"^\S+\s+(\d{3})", line)
    return m.group(1) if m else "000"


def cmd_source(a):
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    out("LOCAL %s:%d" % sock.getsockname()[:2])
    method = a.method.upper()
    version = "HTTP/1.1" if method == "PUT" else "HTTP/1.0"
    lines = ["%s %s %s" % (method, a.mount, version), "Host: 127.0.0.1:%d" % a.port,
             "User-Agent: casty-station-test/1", "Content-Type: %s" % a.content_type]
    if a.password is not None:
        token = base64.b64encode(("%s:%s" % (a.user, a.password)).encode()).decode()
        lines.append("Authorization: Basic " + token)
    if a.expect:
        lines.append("Expect: 100-continue")
    lines += a.header
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    head, rest = read_head(sock, time.time() + 5)
    if head is None:
        out("STATUS 000 (no answer within 5 s; got %r)" % rest[:200])
        return 1
    hl = head.decode("latin-1").splitlines()
    status = hl[0] if hl else ""
    code = status_code(status)
    if code.startswith("1"):
        out("INTERIM " + status)
        # The final answer may follow at once, or only once the body flows: wait 2 s for it.
        head, rest = read_head(sock, time.time() + 2, rest)
        if head is None:
            out("INFO no final answer within 2 s of the interim one; sending the body")
        else:
            hl = head.decode("latin-1").splitlines()
            status = hl[0] if hl else ""
            code = status_code(status)
    out("STATUS %s %s" % (code, status))
    for h in hl[1:]:
        out("HEADER " + h)
    ok = code.startswith("2") or code == "100"
    if not ok:
        body = rest
        sock.settimeout(1)
        try:
            while len(body) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                body += chunk
        except (socket.timeout, OSError):
            pass
        out("BODY %r" % body[:1000])
        sock.close()
        return 1
    payload = b""
    if a.garbage:
        rnd = random.Random(11)
        payload = bytes(rnd.getrandbits(8) for _ in range(262144))
        # No MP3 frame sync anywhere: clear every 0xFF byte's successor's top bits.
        payload = payload.replace(b"\xff", b"\x7f")
    elif a.file:
        payload = open(a.file, "rb").read()
    sent = 0
    start = time.time()
    step = 0.05
    pos = 0
    closed = False
    if payload and a.seconds > 0:
        try:
            while time.time() - start < a.seconds:
                due = int((time.time() - start + step) * a.rate) - sent
                if due > 0:
                    chunk = b""
                    while len(chunk) < due:
                        take = payload[pos:pos + due - len(chunk)]
                        chunk += take
                        pos = (pos + len(take)) % len(payload)
                    sock.sendall(chunk)
                    sent += len(chunk)
                time.sleep(step)
        except OSError as e:
            out("CLOSED -%.2f (while sending: %s; %d bytes sent)" % (time.time() - start, e, sent))
            closed = True
    if not closed:
        out("SENT %d %.2f" % (sent, time.time() - start))
        if a.stall > 0:
            out("STALL")
            t0 = time.time()
            sock.settimeout(0.1)
            while time.time() - t0 < a.stall:
                try:
                    chunk = sock.recv(4096)
                    if not chunk:
                        out("CLOSED %.2f" % (time.time() - t0))
                        closed = True
                        break
                except socket.timeout:
                    continue
                except OSError as e:
                    out("CLOSED %.2f (%s)" % (time.time() - t0, e))
                    closed = True
                    break
    sock.close()
    return 0


META_RE = re.compile(rb"^(?:[A-Za-z0-9_]+='.*?';)*$", re.S)


def label_window(audio, files):
    if not files or len(audio) < 200:
        return None
    probes = []
    n = 24
    for i in range(n):
        off = int((len(audio) - 48) * (i + 0.5) / n)
        probes.append(audio[off:off + 48])
    best, best_hits = "other", 0
    for name, data in files:
        hits = sum(1 for p in probes if p in data)
        if hits > best_hits:
            best, best_hits = name, hits
    return best if best_hits >= n // 2 else "other"


def cmd_listen(a):
    u = urlsplit(a.url)
    host, port = u.hostname, u.port or 80
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    files = []
    for spec in a.match:
        name, fn = spec.split("=", 1)
        files.append((name, open(fn, "rb").read()))
    summary = {"url": a.url, "status": "", "headers": {}, "metaint": 0, "audio_bytes": 0, "blocks": 0,
               "nonempty_blocks": 0, "titles": [], "framing_ok": True, "framing_error": "",
               "closed": False, "closed_after": None, "max_gap": 0.0, "max_gap_at": None,
               "first_audio_after": None, "windows": [], "local": ""}
    t_start = time.time()
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        summary["status"] = "connect failed: %s" % e
        return finish(a, summary, 1)
    summary["local"] = "%s:%d" % sock.getsockname()[:2]
    req = ["GET %s HTTP/1.0" % path, "Host: %s:%d" % (host, port), "User-Agent: %s" % a.ua]
    if a.meta:
        req.append("Icy-MetaData: 1")
    sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
    head, rest = read_head(sock, time.time() + 5)
    if head is None:
        summary["status"] = "no reply head within 5 s"
        return finish(a, summary, 1)
    hl = head.decode("latin-1").splitlines()
    summary["status"] = hl[0] if hl else ""
    for h in hl[1:]:
        if ":" in h:
            k, v = h.split(":", 1)
            summary["headers"][k.strip().lower()] = v.strip()
    if not re.match(r"^\S+ 200\b", summary["status"]):
        return finish(a, summary, 1)
    metaint = 0
    if a.meta:
        try:
            metaint = int(summary["headers"].get("icy-metaint", "0"))
        except ValueError:
            metaint = 0
        if metaint <= 0:
            summary["framing_ok"] = False
            summary["framing_error"] = "no icy-metaint in the reply"
    summary["metaint"] = metaint
    audio_file = open(a.audio, "wb") if a.audio else None
    # Parser state: in audio (left = bytes of audio before the next length byte), or in a block.
    left = metaint
    block_need = -1          # -1: expecting audio or length byte; >=0: bytes of block still missing
    block = b""
    last_audio = None
    window_start = None
    window = b""
    until_title_seen = False
    deadline = t_start + a.seconds
    buf = rest
    sock.settimeout(0.2)

    def take_audio(data, now):
        nonlocal last_audio, window_start, window
        if not data:
            return
        if last_audio is not None:
            gap = now - last_audio
            if gap > summary["max_gap"]:
                summary["max_gap"] = round(gap, 3)
                summary["max_gap_at"] = round(last_audio, 3)
        else:
            summary["first_audio_after"] = round(now - t_start, 3)
        last_audio = now
        summary["audio_bytes"] += len(data)
        if audio_file:
            audio_file.write(data)
        if window_start is None:
            window_start = now
        window += data
        if now - window_start >= 0.5:
            summary["windows"].append([round(window_start, 2), label_window(window, files), len(window)])
            window_start, window = now, b""

    while True:
        now = time.time()
        if buf:
            data, buf = buf, b""
            i = 0
            got = []
            while i < len(data) and summary["framing_ok"]:
                if not metaint:
                    got.append(data[i:])
                    break
                if block_need < 0:
                    if left > 0:
                        n = min(left, len(data) - i)
                        got.append(data[i:i + n])
                        left -= n
                        i += n
                        continue
                    k = data[i]
                    i += 1
                    summary["blocks"] += 1
                    block_need = 16 * k
                    block = b""
                    if block_need == 0:
                        block_need = -1
                        left = metaint
                    continue
                n = min(block_need, len(data) - i)
                block += data[i:i + n]
                block_need -= n
                i += n
                if block_need == 0:
                    block_need = -1
                    left = metaint
                    text = block.rstrip(b"\0")
                    summary["nonempty_blocks"] += 1
                    if b"\0" in text or not META_RE.match(text):
                        summary["framing_ok"] = False
                        summary["framing_error"] = "block %d at audio byte %d is not Key='value'; text: %r" % (
                            summary["blocks"], summary["audio_bytes"], block[:80])
                        break
                    m = re.search(rb"StreamTitle='(.*?)';", text, re.S)
                    if m:
                        title = m.group(1).decode("utf-8", "replace")
                        if not summary["titles"] or summary["titles"][-1][1] != title:
                            summary["titles"].append([round(now, 2), title])
                        if a.until_title is not None and title == a.until_title:
                            until_title_seen = True
            take_audio(b"".join(got), now)
        if until_title_seen or not summary["framing_ok"] or now >= deadline:
            break
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            summary["closed"] = True
            summary["closed_after"] = round(time.time() - t_start, 2)
            summary["closed_error"] = str(e)
            break
        if not chunk:
            summary["closed"] = True
            summary["closed_after"] = round(time.time() - t_start, 2)
            break
        buf = chunk
    if window:
        summary["windows"].append([round(window_start, 2), label_window(window, files), len(window)])
    if last_audio is not None and not summary["closed"] and not until_title_seen:
        tail_gap = time.time() - last_audio
        if tail_gap > summary["max_gap"]:
            summary["max_gap"] = round(tail_gap, 3)
            summary["max_gap_at"] = round(last_audio, 3)
    summary["seconds"] = round(time.time() - t_start, 2)
    summary["until_title_seen"] = until_title_seen
    if audio_file:
        audio_file.close()
    sock.close()
    rc = 0 if summary["framing_ok"] else 1
    if a.until_title is not None and not until_title_seen:
        rc = 1
    return finish(a, summary, rc)


def finish(a, summary, rc):
    text = json.dumps(summary)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text)
    out(text)
    return rc


def cmd_phases(a):
    summary = json.load(open(a.json))
    windows = summary.get("windows", [])
    for spec in a.phase:
        name, t0, t1, label = spec.split(":")
        t0, t1 = float(t0), float(t1)
        inside = [w for w in windows if t0 <= w[0] < t1]
        counts = {}
        for w in inside:
            counts[w[1]] = counts.get(w[1], 0) + 1
        share = counts.get(label, 0) / len(inside) if inside else 0.0
        out("%s %s share=%.2f windows=%d labels=%s" % (
            name, label, share, len(inside), ",".join("%s:%d" % kv for kv in sorted(counts.items())) or "-"))
    return 0


def cmd_pcm(a):
    try:
        w = wave.open(a.file, "rb")
    except Exception as e:
        out("seconds=0 nonzero=0 rms_db=-999 freq=0 (%s)" % e)
        return 1
    ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
    raw = w.readframes(n)
    w.close()
    if width != 2 or n == 0:
        out("seconds=%.2f nonzero=0 rms_db=-999 freq=0 (sample width %d)" % (n / max(rate, 1), width))
        return 1
    import array
    s = array.array("h")
    s.frombytes(raw[:len(raw) // 2 * 2])
    if sys.byteorder == "big":
        s.byteswap()
    first = s[::ch]
    nz = sum(1 for x in first if x != 0) / max(len(first), 1)
    sq = sum(x * x for x in first) / max(len(first), 1)
    import math
    rms_db = 20 * math.log10(math.sqrt(sq) / 32768) if sq > 0 else -999
    crossings = sum(1 for i in range(1, len(first)) if (first[i - 1] < 0) != (first[i] < 0))
    secs = len(first) / rate
    freq = crossings / 2 / secs if secs > 0 else 0
    out("seconds=%.2f nonzero=%.3f rms_db=%.1f freq=%.0f" % (secs, nz, rms_db, freq))
    return 0


def cmd_status_mounts(a):
    try:
        doc = json.load(open(a.file))
    except Exception as e:
        out("invalid JSON: %s" % e)
        return 1
    src = doc.get("icestats", {}).get("source") if isinstance(doc, dict) else None
    kind = "array" if isinstance(src, list) else ("object" if isinstance(src, dict) else "none")
    out(kind)
    items = src if isinstance(src, list) else ([src] if isinstance(src, dict) else [])
    for s in items:
        if not isinstance(s, dict):
            continue
        mount = s.get("mount") or urlsplit(str(s.get("listenurl", ""))).path
        out(mount)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("source")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--mount", required=True)
    s.add_argument("--method", default="PUT")
    s.add_argument("--expect", action="store_true")
    s.add_argument("--user", default="source")
    s.add_argument("--password")
    s.add_argument("--content-type", default="audio/mpeg")
    s.add_argument("--header", action="append", default=[])
    s.add_argument("--file")
    s.add_argument("--garbage", action="store_true")
    s.add_argument("--rate", type=float, default=16000)
    s.add_argument("--seconds", type=float, default=0)
    s.add_argument("--stall", type=float, default=0)
    s.set_defaults(fn=cmd_source)
    l_ = sub.add_parser("listen")
    l_.add_argument("--url", required=True)
    l_.add_argument("--meta", action="store_true")
    l_.add_argument("--seconds", type=float, default=5)
    l_.add_argument("--ua", default="casty-station-test-listener/1")
    l_.add_argument("--until-title")
    l_.add_argument("--match", action="append", default=[])
    l_.add_argument("--json")
    l_.add_argument("--audio")
    l_.set_defaults(fn=cmd_listen)
    ph = sub.add_parser("phases")
    ph.add_argument("json")
    ph.add_argument("phase", nargs="+")
    ph.set_defaults(fn=cmd_phases)
    pc = sub.add_parser("pcm")
    pc.add_argument("file")
    pc.set_defaults(fn=cmd_pcm)
    sm = sub.add_parser("status-mounts")
    sm.add_argument("file")
    sm.set_defaults(fn=cmd_status_mounts)
    a = p.parse_args()
    try:
        sys.exit(a.fn(a))
    except BrokenPipeError:
        sys.exit(1)


if __name__ == "__main__":
    main()
