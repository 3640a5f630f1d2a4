#!/usr/bin/env python3
"""icycap.py — read raw ICY captures of numbered Casty streams (curl -D HEADERS -o BODY with
`X-Casty-Numbered: 1` and `Icy-MetaData: 1`) and compare them across listeners.

  icycap.py summary HEADERS BODY
      one line: segments, first/last CastySeq, gaps and duplicates in the numbering, titles seen in order
  icycap.py compare NAME=HEADERS:BODY ...
      every pair of captures: the CastySeq numbers both hold, and whether each of them carries the same
      audio bytes (SHA-1 per segment) and the same StreamTitle in effect. Exit 1 on any mismatch, or when
      a pair overlaps in fewer than --min-overlap segments.

A capture is cut off by curl's --max-time: a trailing incomplete segment is ignored.
"""
import hashlib
import re
import sys


def metaint_of(headers_path):
    text = open(headers_path, "rb").read().decode("latin-1")
    match = re.search(r"^icy-metaint:\s*(\d+)", text, re.I | re.M)
    if not match:
        raise SystemExit(f"{headers_path}: no icy-metaint header")
    return int(match.group(1))


def fields_of(metadata):
    """key='value'; pairs (values may contain quotes; a pair ends at ';' after a quote)."""
    text = metadata.rstrip(b"\0").decode("utf-8", "replace")
    return dict(re.findall(r"(\w+)='(.*?)';(?=\w+='|$)", text, re.S))


def segments(headers_path, body_path):
    """[(seq, sha1-of-audio, title-in-effect, casty-time-ms)] for every whole segment."""
    metaint = metaint_of(headers_path)
    data = open(body_path, "rb").read()
    out = []
    i = 0
    title = None
    while i + metaint < len(data):
        audio = data[i:i + metaint]
        k = data[i + metaint]
        end = i + metaint + 1 + 16 * k
        if end > len(data):
            break
        meta = fields_of(data[i + metaint + 1:end])
        if "StreamTitle" in meta:
            title = meta["StreamTitle"]
        seq = int(meta["CastySeq"]) if "CastySeq" in meta else None
        cut = int(meta["CastyTime"]) if "CastyTime" in meta else None
        out.append((seq, hashlib.sha1(audio).hexdigest()[:12], title, cut))
        i = end
    return out


def numbering(segs):
    gaps = dups = missing = 0
    previous = None
    for seq, *_ in segs:
        if seq is None:
            continue
        if previous is not None:
            if seq <= previous:
                dups += 1
            elif seq != previous + 1:
                gaps += 1
                missing += seq - previous - 1
        previous = seq
    return gaps, missing, dups


def titles(segs):
    seen = []
    for _, _, title, _ in segs:
        if title is not None and (not seen or seen[-1] != title):
            seen.append(title)
    return seen


def summary(headers_path, body_path):
    segs = segments(headers_path, body_path)
    gaps, missing, dups = numbering(segs)
    numbered = [s for s in segs if s[0] is not None]
    first = numbered[0][0] if numbered else "-"
    last = numbered[-1][0] if numbered else "-"
    print(f"segments={len(segs)} numbered={len(numbered)} first={first} last={last} gaps={gaps}"
          f" missing={missing} dups={dups} titles={'|'.join(titles(segs)) or '-'}")


def compare(args):
    min_overlap = 4
    captures = []
    for arg in args:
        if arg.startswith("--min-overlap="):
            min_overlap = int(arg.split("=", 1)[1])
            continue
        name, paths = arg.split("=", 1)
        headers_path, body_path = paths.split(":", 1)
        captures.append((name, {s[0]: s for s in segments(headers_path, body_path) if s[0] is not None}))
    ok = True
    for a in range(len(captures)):
        for b in range(a + 1, len(captures)):
            (name_a, segs_a), (name_b, segs_b) = captures[a], captures[b]
            common = sorted(set(segs_a) & set(segs_b))
            audio = [n for n in common if segs_a[n][1] != segs_b[n][1]]
            title = [n for n in common if segs_a[n][2] != segs_b[n][2]]
            span = f"{common[0]}..{common[-1]}" if common else "-"
            verdict = "same" if not audio and not title and len(common) >= min_overlap else "DIFFERENT"
            print(f"{name_a} vs {name_b}: {len(common)} common segments ({span}), audio differs in {len(audio)},"
                  f" title differs in {len(title)}: {verdict}")
            for n in (audio + title)[:5]:
                print(f"  segment {n}: {name_a} {segs_a[n][1]} '{segs_a[n][2]}' / {name_b} {segs_b[n][1]} '{segs_b[n][2]}'")
            ok = ok and verdict == "same"
    sys.exit(0 if ok else 1)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "summary" and len(sys.argv) == 4:
        summary(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "compare":
        compare(sys.argv[2:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "dump" and len(sys.argv) == 4:
        for seq, digest, title, cut in segments(sys.argv[2], sys.argv[3]):
            print(seq, digest, cut, title)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
