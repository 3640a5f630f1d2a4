#!/usr/bin/env bash
# make-tone.sh — generate the built-in station's audio: Sources/Casty/Station/Resources/tone.mp3, which
# SwiftPM embeds in the Casty module (`.embedInCode` in Package.swift) as `PackageResources.tone_mp3`, read
# by enum BuiltInTone (Sources/Casty/Station/BuiltInTone.swift).
#
# Usage: scripts/make-tone.sh [OUT.mp3]      (default: Sources/Casty/Station/Resources/tone.mp3)
# Needs: ffmpeg (scripts/install-peers.sh), python3 (for the frame check).
#
# The audio: four notes of an arpeggio (C5 E5 G5 C6, 1 s each, peaks near -15 dBFS, 20 ms fade in and
# 50 ms fade out so the notes do not click), 4 s in all, encoded by libmp3lame as MPEG-1 Layer III,
# 128 kbit/s CBR, 44.1 kHz, stereo (LAME picks joint stereo), with no ID3 tag and no Xing/Info frame:
# the file is nothing but MP3 frames, so it can be cut into ICY segments and looped as a live stream.
# The same ffmpeg gives the same bytes, so rerunning the script changes nothing (the file is rewritten
# only when its content differs). If the facts printed below change, update BuiltInTone.swift's comment.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/Sources/Casty/Station/Resources/tone.mp3}

for tool in ffmpeg python3; do
    command -v "$tool" >/dev/null || { echo "make-tone: $tool missing (run scripts/install-peers.sh)" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

NOTES=(523.25 659.26 783.99 1046.50)   # C5 E5 G5 C6, Hz
NOTE_SECONDS=1

# One lavfi sine input per note, each faded in and out, then concatenated and made stereo.
inputs=()
filters=""
labels=""
for i in "${!NOTES[@]}"; do
    inputs+=(-f lavfi -i "sine=frequency=${NOTES[i]}:sample_rate=44100:duration=$NOTE_SECONDS")
    filters+="[$i:a]volume=2,afade=t=in:d=0.02,afade=t=out:st=$(awk "BEGIN { print $NOTE_SECONDS - 0.05 }"):d=0.05[n$i];"
    labels+="[n$i]"
done
filters+="${labels}concat=n=${#NOTES[@]}:v=0:a=1,aformat=channel_layouts=stereo[out]"

ffmpeg -nostdin -hide_banner -loglevel error -y "${inputs[@]}" \
    -filter_complex "$filters" -map '[out]' \
    -c:a libmp3lame -b:a 128k -ar 44100 -ac 2 \
    -write_xing 0 -id3v2_version 0 -write_id3v1 0 -map_metadata -1 -fflags +bitexact -flags:a +bitexact \
    -f mp3 "$TMP/tone.mp3"

# Check the file: MP3 frames only, all MPEG-1 Layer III 128 kbit/s 44.1 kHz, back to back to the end.
facts=$(python3 - "$TMP/tone.mp3" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
pos = frames = 0
modes = set()
while pos < len(data):
    h = data[pos:pos + 4]
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xFE) != 0xFA:
        sys.exit("make-tone: no MPEG-1 Layer III frame header at byte %d" % pos)
    if h[2] >> 4 != 9 or (h[2] >> 2) & 3 != 0:
        sys.exit("make-tone: frame at byte %d is not 128 kbit/s 44.1 kHz" % pos)
    modes.add(h[3] >> 6)
    pos += 144 * 128000 // 44100 + ((h[2] >> 1) & 1)
    frames += 1
if pos != len(data):
    sys.exit("make-tone: last frame runs past the end of the file")
mode = {0: "stereo", 1: "joint stereo", 2: "dual channel", 3: "mono"}
print("%d bytes, %d frames of 1152 samples (%.3f s), MPEG-1 Layer III, 128 kbit/s CBR, 44.1 kHz, %s; "
      "first header %s" % (len(data), frames, frames * 1152 / 44100,
                           "/".join(mode[m] for m in sorted(modes)), data[:4].hex(" ")))
PY
)
echo "make-tone: $facts"

mkdir -p "$(dirname "$OUT")"
if [ -f "$OUT" ] && cmp -s "$TMP/tone.mp3" "$OUT"; then
    echo "make-tone: $OUT unchanged"
else
    cp "$TMP/tone.mp3" "$OUT"
    echo "make-tone: wrote $OUT ($(wc -c <"$OUT") bytes)"
fi
