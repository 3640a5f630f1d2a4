#!/usr/bin/env bash
# capture-icecast.sh — record what a real Icecast 2 sends to a listener that asks for ICY metadata, as
# a test fixture for the Icy parser: Tests/IcyTests/Fixtures/icecast-capture.bin (the raw reply, status
# line and headers included, byte for byte as on the wire) and icecast-capture.txt (what is in it).
#
# Usage: scripts/capture-icecast.sh [--force] [OUTDIR]     (default OUTDIR: Tests/IcyTests/Fixtures)
#   Without --force an existing OUTDIR/icecast-capture.bin is kept and nothing runs: every capture differs
#   a little (date, port, byte counts, where the burst starts), and the Swift tests assert the facts
#   written in the committed .txt. With --force a new capture replaces both files; update the tests then.
# Needs: scripts/install-peers.sh run once (icecast2, ffmpeg, curl), python3 (for the check).
#
# What it does, all on 127.0.0.1:
#   1. starts Icecast on a free port (burst-size 16000 so the capture stays small) and an ffmpeg source
#      (440 Hz sine, MP3 128 kbit/s 44.1 kHz stereo) at /casty-test;
#   2. sets the title to TITLE1 (with an en dash, U+2013, on purpose: non-ASCII UTF-8 bytes) and waits
#      until the burst a new listener gets holds only audio sent after that;
#   3. sends `GET /casty-test HTTP/1.0` with `Icy-MetaData: 1` over a raw socket (bash /dev/tcp) and
#      records every byte for CAPTURE_SECONDS, changing the title to TITLE2 halfway through;
#   4. parses the capture (status line, headers, icy-metaint framing) and writes the .txt; fails when
#      the capture is not as expected (not two titles in order, too big, ...).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FORCE=0
if [ "${1:-}" = --force ]; then
    FORCE=1
    shift
fi
OUTDIR=${1:-$ROOT/Tests/IcyTests/Fixtures}
if [ "$FORCE" = 0 ] && [ -f "$OUTDIR/icecast-capture.bin" ] && [ -f "$OUTDIR/icecast-capture.txt" ]; then
    echo "capture-icecast: $OUTDIR/icecast-capture.bin exists, keeping it (--force records a new one)"
    exit 0
fi
# shellcheck source=scripts/lib/peers.sh
. "$ROOT/scripts/lib/peers.sh"

MOUNT=casty-test
TITLE1="Casty Test Tone – 440 Hz"
TITLE2="Casty Test Tone – second title"
CAPTURE_SECONDS=3
export ICECAST_BURST_SIZE=16000

for tool in icecast2 ffmpeg curl python3; do
    command -v "$tool" >/dev/null || { echo "capture-icecast: $tool missing (run scripts/install-peers.sh)" >&2; exit 1; }
done

peers_trap
TMP=$(peers_tmpdir)
port=$(free_port)
icecast_start "$port" "$TMP/icecast"
source_start "$port" "$MOUNT" 440
set_title "$port" "$MOUNT" "$TITLE1"
# The burst (16000 bytes = 1 s of audio) must start after the title change: wait 2 s.
sleep 2

REQUEST=$'GET /'"$MOUNT"$' HTTP/1.0\r\nHost: 127.0.0.1:'"$port"$'\r\nUser-Agent: casty-capture/1\r\nIcy-MetaData: 1\r\n\r\n'
raw="$TMP/capture.bin"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '%s' "$REQUEST" >&3
# Read everything for CAPTURE_SECONDS (timeout ends cat with status 124, which is the plan).
timeout "$CAPTURE_SECONDS" cat <&3 >"$raw" &
reader=$!
sleep "$(awk "BEGIN { print $CAPTURE_SECONDS / 2 }")"
set_title "$port" "$MOUNT" "$TITLE2"
wait "$reader" || true
exec 3<&- 3>&-

captured_at=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
icecast_version=$(dpkg-query -W -f='${Version}' icecast2 2>/dev/null || echo unknown)
icecast_banner=$(icecast2 -v 2>/dev/null | head -1 || true)
ffmpeg_version=$(dpkg-query -W -f='${Version}' ffmpeg 2>/dev/null || echo unknown)
ffmpeg_banner=$(ffmpeg -version 2>/dev/null | head -1 | sed 's/ Copyright.*//' || true)

mkdir -p "$OUTDIR"
cp "$raw" "$OUTDIR/icecast-capture.bin"

# Parse the capture and write the description; python3 exits non-zero if anything is off.
CAPTURE_BIN="$OUTDIR/icecast-capture.bin" CAPTURE_TXT="$OUTDIR/icecast-capture.txt" \
TITLE1="$TITLE1" TITLE2="$TITLE2" MOUNT="$MOUNT" PORT="$port" REQUEST="$REQUEST" \
CAPTURED_AT="$captured_at" CAPTURE_SECONDS="$CAPTURE_SECONDS" BURST="$ICECAST_BURST_SIZE" \
ICECAST_VERSION="$icecast_version ($icecast_banner)" FFMPEG_VERSION="$ffmpeg_version ($ffmpeg_banner)" \
python3 - <<'PY'
import os, re, sys

env = os.environ
data = open(env["CAPTURE_BIN"], "rb").read()

def fail(msg):
    sys.exit("capture-icecast: " + msg)

end = data.find(b"\r\n\r\n")
if end < 0:
    fail("no end of headers in the capture")
head = data[:end + 4]
body = data[end + 4:]
lines = head[:-4].split(b"\r\n")
status = lines[0]
headers = [l.split(b":", 1) for l in lines[1:]]
hmap = {k.strip().lower(): v.strip() for k, v in headers}
if not status.startswith(b"HTTP/1.0 200"):
    fail("unexpected status line %r" % status)
metaint = int(hmap[b"icy-metaint"])

# Walk the icy-metaint framing: metaint audio bytes, one length byte L, then L*16 metadata bytes.
segments = []          # (offset of audio in file, audio bytes, metadata bytes (stripped of NUL padding), L)
pos = 0
truncated = None
while pos < len(body):
    audio_start = pos
    if len(body) - pos < metaint:
        truncated = ("audio", len(body) - pos)
        break
    pos += metaint
    if pos >= len(body):
        truncated = ("before length byte", metaint)
        break
    n = body[pos] * 16
    pos += 1
    if len(body) - pos < n:
        truncated = ("metadata", len(body) - pos)
        break
    meta = body[pos:pos + n]
    pos += n
    segments.append((len(head) + audio_start, meta, body[pos - n - 1]))

titles = []
for _, meta, _ in segments:
    if meta:
        m = re.match(rb"StreamTitle='(.*?)';", meta.rstrip(b"\0"), re.S)
        if not m:
            fail("metadata block without StreamTitle: %r" % meta)
        t = m.group(1).decode("utf-8")
        if not titles or titles[-1] != t:
            titles.append(t)
if titles != [env["TITLE1"], env["TITLE2"]]:
    fail("titles %r, expected [TITLE1, TITLE2]" % titles)
if len(data) > 100_000:
    fail("capture is %d bytes, more than 100 KB" % len(data))
if truncated is None:
    fail("the capture ended exactly on a segment boundary; run again")

# Find the first MPEG-1 Layer III 128 kbit/s 44.1 kHz frame header in the audio (Icecast's burst starts
# at a buffer boundary, not at a frame), confirmed by the next frame header 417 or 418 bytes later.
audio = b"".join(body[off - len(head):off - len(head) + metaint] for off, _, _ in segments)
def is_header(b, i):
    return i + 4 <= len(b) and b[i] == 0xFF and (b[i + 1] & 0xFE) == 0xFA and (b[i + 2] >> 4) == 9 and ((b[i + 2] >> 2) & 3) == 0
first_frame = None
for i in range(len(audio) - 4):
    if is_header(audio, i):
        n = 417 + ((audio[i + 2] >> 1) & 1)
        if is_header(audio, i + n):
            first_frame = i
            break
if first_frame is None:
    fail("no MP3 frame header found in the audio")

def q(b):
    return b.decode("utf-8", "backslashreplace")

out = []
w = out.append
w("# icecast-capture.bin — what a real Icecast 2 sends a listener asking for ICY metadata")
w("")
w("Made by scripts/capture-icecast.sh on %s: Icecast on 127.0.0.1:%s, source ffmpeg" % (env["CAPTURED_AT"], env["PORT"]))
w("(lavfi sine 440 Hz -> libmp3lame 128 kbit/s CBR, 44.1 kHz, stereo, no ID3/Xing) at /%s," % env["MOUNT"])
w("Icecast burst-size %s bytes, titles set with /admin/metadata?mode=updinfo (UTF-8, no charset=)." % env["BURST"])
w("The file holds every byte received for %s s after sending the request, unchanged." % env["CAPTURE_SECONDS"])
w("")
w("icecast2: %s" % env["ICECAST_VERSION"])
w("ffmpeg:   %s" % env["FFMPEG_VERSION"])
w("")
w("## Request sent (each line ends with CR LF, then an empty line)")
for l in env["REQUEST"].split("\r\n"):
    if l:
        w("    " + l)
w("")
w("## Reply head: bytes 0..%d (%d bytes, lines end with CR LF, ends with CR LF CR LF)" % (len(head) - 1, len(head)))
w("Status line: %s" % q(status))
w("Headers, in order, exactly as sent (a space after the colon in the standard ones, none in the icy- ones):")
for l in lines[1:]:
    w("    " + q(l))
w("")
w("## Framing")
w("icy-metaint: %d" % metaint)
w("Total size: %d bytes = %d head + %d body" % (len(data), len(head), len(body)))
w("Body: %d complete segments (segment = %d audio bytes + 1 length byte L + L*16 metadata bytes)," % (len(segments), metaint))
if truncated[0] == "audio":
    w("then a truncated last segment: %d of %d audio bytes, no length byte." % (truncated[1], metaint))
else:
    w("then a truncated last segment (%s; %d bytes)." % truncated)
w("First audio byte at file offset %d. The audio does not start on an MP3 frame: Icecast's burst begins at"
  % len(head))
w("a buffer boundary. The first MPEG-1 Layer III frame header (FF FB 9x: 128 kbit/s, 44.1 kHz; frames of")
w("417/418 bytes) is at audio byte %d, file offset %d." % (first_frame, len(head) + first_frame))
w("")
w("Segment  audio offset  L  metadata (NUL padding stripped)")
for i, (off, meta, l) in enumerate(segments):
    if meta:
        text = meta.rstrip(b"\0")
        desc = "%s  (%d bytes + %d NUL)" % (q(text), len(text), len(meta) - len(text))
    else:
        desc = "(L = 0: no metadata, title unchanged)"
    w("%7d  %12d  %d  %s" % (i, off, l, desc))
w("")
w("## Titles, in order of appearance (StreamTitle values, UTF-8)")
for i, t in enumerate(titles, 1):
    raw = t.encode("utf-8")
    w("%d. %s   (%d bytes UTF-8: %s)" % (i, t, len(raw), raw.hex(" ")))
w("")
w("## Facts a test can assert")
w("- status line %r, icy-metaint %d, icy-name %r, content-type %r"
  % (q(status), metaint, q(hmap.get(b"icy-name", b"")), q(hmap.get(b"content-type", b""))))
w("- %d bytes in all: %d of head, %d of body" % (len(data), len(head), len(body)))
w("- %d complete segments, then a truncated one (%s)" % (len(segments), truncated[0]))
w("- metadata length bytes at file offsets %s" % ", ".join(str(off + metaint) for off, _, _ in segments))
w("- metadata length bytes L by segment: %s (Icecast sends the title only when it is new to this"
  % ", ".join(str(l) for _, _, l in segments))
w("  listener: first segment, and after a change; otherwise L = 0)")
w("- titles in order: %s" % " | ".join(titles))
w("- the en dash in the titles is U+2013, bytes e2 80 93")
open(env["CAPTURE_TXT"], "w", encoding="utf-8").write("\n".join(out) + "\n")
print("\n".join(out))
PY
echo "capture-icecast: wrote $OUTDIR/icecast-capture.bin ($(wc -c <"$OUTDIR/icecast-capture.bin") bytes) and icecast-capture.txt"
