#!/usr/bin/env python3
"""hls.py — what the HLS scripts check that no player prints (python3's standard library only).

  hls.py rules URL --seconds S     reload the live media playlist at URL every second for S seconds and check
                                   RFC 8216's rules on every reload: #EXTM3U first; every EXTINF rounded <=
                                   EXT-X-TARGETDURATION; the window lasts >= 3 target durations; a sequence
                                   number always names the same segment, and keeps its discontinuity sequence;
                                   EXT-X-MEDIA-SEQUENCE never goes back. Every new segment is fetched: it must
                                   start with an ID3 tag whose PRIV com.apple.streaming.transportStreamTimestamp
                                   equals the previous segment's plus its EXTINF (within --tolerance-ms), unless
                                   an EXT-X-DISCONTINUITY sits between them. Each segment's
                                   EXT-X-PROGRAM-DATE-TIME comes after the previous one's (the worst difference
                                   between a step and the previous EXTINF is printed).
  hls.py same URL_A URL_B          the segments both playlists list (same names) are byte-identical.
  hls.py vbr URL --target T        the MP3 segments the playlist lists hold frames of at least 3 bitrates (a
                                   variable-bitrate stream), and every EXTINF is within a frame (30 ms) of T s.

Prints one line: "OK …" (exit 0) or "BROKEN …" (exit 1).
"""
import argparse
import datetime
import sys
import time
import urllib.parse
import urllib.request

OWNER = b"com.apple.streaming.transportStreamTimestamp\x00"


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.read(), answer.headers


def timestamp(data):
    """The PRIV timestamp of the ID3 tag at the start of a segment, or None."""
    if data[:3] != b"ID3" or len(data) < 10:
        return None
    end = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    at = 10
    while at + 10 <= end:
        size = (data[at + 4] << 21) | (data[at + 5] << 14) | (data[at + 6] << 7) | data[at + 7]
        body = data[at + 10:at + 10 + size]
        if data[at:at + 4] == b"PRIV" and body.startswith(OWNER):
            return int.from_bytes(body[len(OWNER):len(OWNER) + 8], "big") & ((1 << 33) - 1)
        at += 10 + size
    return None


def parse(text):
    lines = text.splitlines()
    if not lines or lines[0] != "#EXTM3U":
        raise ValueError("does not start with #EXTM3U")
    tags = {}
    segments = []
    duration = None
    discontinuity = False
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#") and ":" in line:
            key, value = line[1:].split(":", 1)
            tags[key] = value
        elif line and not line.startswith("#"):
            if duration is None:
                raise ValueError(f"{line} has no EXTINF")
            segments.append((line, duration, discontinuity))
            duration, discontinuity = None, False
    return tags, segments


def dates(text):
    """Each segment's EXT-X-PROGRAM-DATE-TIME, in milliseconds since 1970, by name."""
    out, date = {}, None
    for line in text.splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            value = line.split(":", 1)[1].replace("Z", "+00:00")
            date = datetime.datetime.fromisoformat(value).timestamp() * 1000
        elif line and not line.startswith("#"):
            if date is not None:
                out[line] = date
            date = None
    return out


def rules(url, seconds, tolerance_ms):
    names, dseqs, fetched, dated = {}, {}, {}, {}
    reloads, last_first, worst, checked, date_worst = 0, -1, 0.0, 0, 0.0
    deadline = time.time() + seconds
    while time.time() < deadline:
        text = get(url)[0].decode()
        tags, segments = parse(text)
        stamped = dates(text)
        target = int(tags["EXT-X-TARGETDURATION"])
        first = int(tags["EXT-X-MEDIA-SEQUENCE"])
        dseq = int(tags.get("EXT-X-DISCONTINUITY-SEQUENCE", "0"))
        if first < last_first:
            raise ValueError(f"EXT-X-MEDIA-SEQUENCE went back from {last_first} to {first}")
        last_first = first
        total = 0.0
        for index, (name, duration, discontinuity) in enumerate(segments):
            sequence = first + index
            if discontinuity:
                dseq += 1
            if round(duration) > target:
                raise ValueError(f"segment {name} lasts {duration} s, over the target of {target} s")
            if names.setdefault(sequence, name) != name:
                raise ValueError(f"sequence {sequence} was {names[sequence]}, now {name}")
            if dseqs.setdefault(sequence, dseq) != dseq:
                raise ValueError(f"sequence {sequence} changed discontinuity sequence")
            total += duration
            if name in stamped and sequence not in dated:
                dated[sequence] = (stamped[name], duration, discontinuity)
                previous = dated.get(sequence - 1)
                if previous and not discontinuity:
                    if stamped[name] <= previous[0]:
                        sys.stderr.write(text)
                        raise ValueError(f"the program date-time of {name} ({stamped[name]:.0f} ms) does not come after "
                                         f"the previous segment's ({previous[0]:.0f} ms, lasting {previous[1]} s)")
                    date_worst = max(date_worst, abs(stamped[name] - previous[0] - previous[1] * 1000))
            if sequence not in fetched:
                data = get(urllib.parse.urljoin(url, name))[0]
                stamp = timestamp(data)
                if stamp is None:
                    raise ValueError(f"{name} does not start with an ID3 tag holding the timestamp")
                fetched[sequence] = (stamp, duration, discontinuity)
                before = fetched.get(sequence - 1)
                if before and not discontinuity:
                    error_ms = abs(stamp - (before[0] + before[1] * 90000)) / 90.0
                    worst = max(worst, error_ms)
                    checked += 1
                    if error_ms > tolerance_ms:
                        raise ValueError(f"timestamp of {name} is {error_ms:.1f} ms off the previous one plus its duration")
        if total < 3 * target:
            raise ValueError(f"the window lasts {total:.3f} s, under 3 target durations ({3 * target} s)")
        reloads += 1
        time.sleep(1)
    if checked == 0:
        raise ValueError("no two consecutive segments to compare")
    return (f"OK reloads={reloads} segments={len(fetched)} consecutive={checked} worst_timestamp_error_ms={worst:.3f}"
            f" program_date_times_rising={len(dated)} worst_date_step_off_duration_ms={date_worst:.0f}")


def numbers(tags, segments):
    """Each name's media sequence number (EXT-X-MEDIA-SEQUENCE plus its place) and discontinuity sequence number."""
    first, dseq, out = int(tags["EXT-X-MEDIA-SEQUENCE"]), int(tags.get("EXT-X-DISCONTINUITY-SEQUENCE", "0")), {}
    for index, (name, _, discontinuity) in enumerate(segments):
        if discontinuity:
            dseq += 1
        out[name] = (first + index, dseq)
    return out


def same(url_a, url_b):
    tags_a, a = parse(get(url_a)[0].decode())
    tags_b, b = parse(get(url_b)[0].decode())
    seq_a, seq_b = numbers(tags_a, a), numbers(tags_b, b)
    common = sorted(seq_a.keys() & seq_b.keys())
    if not common:
        raise ValueError(f"no segment name in both playlists: {[n for n, _, _ in a]} / {[n for n, _, _ in b]}")
    for name in common:
        if seq_a[name] != seq_b[name]:
            raise ValueError(f"{name} has the (media, discontinuity) sequence numbers {seq_a[name]} on one and {seq_b[name]} on the other")
        one = get(urllib.parse.urljoin(url_a, name))[0]
        two = get(urllib.parse.urljoin(url_b, name))[0]
        if one != two:
            raise ValueError(f"{name} differs: {len(one)} and {len(two)} bytes")
    return f"OK {len(common)} segments byte-identical, under the same sequence numbers: {' '.join(common)}"


BITRATES = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]  # MPEG-1 Layer III, kbit/s
RATES = [44100, 48000, 32000]


def frame_bitrates(data):
    """The bitrates of the MPEG-1 Layer III frames of a segment, after its ID3 tag, followed from header to header."""
    at = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]) if data[:3] == b"ID3" else 0
    found = []
    while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] & 0xFE == 0xFA:
        index, rate = data[at + 2] >> 4, (data[at + 2] >> 2) & 3
        if index in (0, 15) or rate == 3:
            break
        found.append(BITRATES[index])
        at += 144000 * BITRATES[index] // RATES[rate] + ((data[at + 2] >> 1) & 1)
    if at != len(data):
        raise ValueError(f"the frames stop at byte {at} of {len(data)}")
    return found


def vbr(url, target):
    _, segments = parse(get(url)[0].decode())
    bitrates, durations = set(), []
    for name, duration, _ in segments:
        bitrates.update(frame_bitrates(get(urllib.parse.urljoin(url, name))[0]))
        durations.append(duration)
    if len(bitrates) < 3:
        raise ValueError(f"frames of only {sorted(bitrates)} kbit/s: not a variable bitrate")
    off = [d for d in durations if abs(d - target) > 0.03]
    if off:
        raise ValueError(f"EXTINF {off} more than a frame off the target of {target} s (all: {durations})")
    return f"OK {len(segments)} segments, frames of {len(bitrates)} bitrates ({min(bitrates)}–{max(bitrates)} kbit/s), EXTINF {min(durations)}–{max(durations)} s"


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("rules")
    r.add_argument("url")
    r.add_argument("--seconds", type=float, default=30)
    r.add_argument("--tolerance-ms", type=float, default=2.0)
    s = sub.add_parser("same")
    s.add_argument("a")
    s.add_argument("b")
    v = sub.add_parser("vbr")
    v.add_argument("url")
    v.add_argument("--target", type=float, required=True)
    args = parser.parse_args()
    try:
        if args.command == "rules":
            print(rules(args.url, args.seconds, args.tolerance_ms))
        elif args.command == "same":
            print(same(args.a, args.b))
        else:
            print(vbr(args.url, args.target))
    except Exception as error:  # noqa: BLE001 — one line, whatever broke
        print(f"BROKEN {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
