#!/usr/bin/env bash
# scripts/bench/first-sound.sh — time to first sound in a real browser (Debian's chromium, headless), Casty and
# Icecast 2 side by side in one run, on the same 128 kbit/s MP3 stream.
#
#     CASTY_CLI=/path/to/casty-cli bash scripts/bench/first-sound.sh
#     RUNS=9 STARTS=play CASTY_CLI=… bash scripts/bench/first-sound.sh     # more runs; audio.play() only
#     CASTY_OPTIONS="--burst 16" LEAD=10 CASTY_CLI=… bash scripts/bench/first-sound.sh   # Casty with other options
#
# It starts `casty-cli server --mounts /live` and Icecast 2 (Debian's icecast2, the config of
# scripts/lib/peers.sh: burst-on-connect, burst-size 65535) on free loopback ports, and has one ffmpeg per server
# publish the same thing to icecast://source:…@127.0.0.1:PORT/live: a 440 Hz sine, MP3 128 kbit/s CBR, 44.1 kHz
# stereo, in real time (-re). Once both mounts are live it waits 5 s more (LEAD), so that each server has a full
# burst to send (Casty 4 × 8 KiB, about 2 s of audio; Icecast 64 KiB, about 4 s).
#
# A tiny python3 http.server on another loopback port serves one static page, the same for both servers. Its
# script sets an <audio> element's src to the stream (from the page's query string), noting performance.now()
# then and at the element's first loadedmetadata, canplay and playing events, in document.body.dataset (read back
# over the DevTools protocol by scripts/browser/cdp.py). The page starts the audio one of two ways (STARTS, default
# both): `play`, audio.play() right after setting src, as Casty's own player page does (and a play button would);
# `autoplay`, the element's autoplay attribute alone, <audio autoplay src=…>. They differ a lot: Chromium starts an
# autoplay element only at readyState HAVE_ENOUGH_DATA, which on a live stream comes seconds after canplay.
# Each run is a fresh headless chromium (fresh --user-data-dir, --autoplay-policy=no-user-gesture-required, as
# scripts/browser/player.sh) on that page, given 30 s to fire 'playing'. The servers alternate run by run (casty,
# icecast, casty, …), for each way of starting, RUNS times (default 5).
#
# What the figures showed (2 cores, Chromium 156, icecast2 2.4.4): Icecast takes audio/mpeg with its generic
# format handler ("Unsupported or legacy stream type" in its error.log), so its burst begins at an arbitrary byte,
# mid-frame; Chromium's demuxer then reads for about 4 s more of live audio before loadedmetadata (the same burst
# cut to its first frame header by a small proxy: loadedmetadata 0.3 s). Casty begins each listener on a frame
# boundary (a padding ID3 tag covers the partial frame, Nodes/StreamSegment.swift): loadedmetadata in ~50 ms.
#
# Prints the chromium version, the CPU (lscpu's model name) and the servers' bursts, a line per run, then a
# Markdown table: per server and way of starting, the median ms from setting src to 'playing' (and to
# loadedmetadata and canplay) and every run's figure. A figure, not a bound: it exits non-zero only when something
# did not work at all (a server or source did not start, a page never played). Everything listens on and connects
# to 127.0.0.1 only; every process started here is ended on exit. About 2.5 minutes with the defaults (most of it
# the autoplay runs' waiting), under 1 minute with STARTS=play.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export ICECAST_SOURCE_PASSWORD=${SRC_PW:-SrcPw-first-sound}
# shellcheck source=scripts/lib/peers.sh
. "$root/scripts/lib/peers.sh"
# shellcheck source=scripts/lib/common.sh
. "$root/scripts/lib/common.sh"

RUNS=${RUNS:-5}
LEAD=${LEAD:-5}       # seconds of audio each server has before the first run
PLAY_WAIT=30          # seconds a page may take to fire 'playing'
STARTS=${STARTS:-play autoplay}   # how the page starts the audio: audio.play(), the autoplay attribute, or both
for start in $STARTS; do
    [[ $start == play || $start == autoplay ]] || { echo "first-sound.sh: STARTS takes play and/or autoplay" >&2; exit 2; }
done
if [ -n "${CASTY_CLI:-}" ]; then
    CLI=$CASTY_CLI
elif command -v casty-cli >/dev/null; then
    CLI=$(command -v casty-cli)
else
    CLI="$root/.build/debug/casty-cli"
fi
[ -x "$CLI" ] || { echo "first-sound.sh: casty-cli not found at $CLI (set CASTY_CLI)" >&2; exit 1; }
for tool in chromium icecast2 ffmpeg python3 curl; do
    command -v "$tool" >/dev/null || { echo "first-sound.sh: $tool is not installed" >&2; exit 1; }
done

peers_trap
TMP=$(peers_tmpdir)
pids=()   # scripts/browser/lib.sh adds each chromium here; peers_track does the ending
# shellcheck source=scripts/browser/lib.sh
. "$root/scripts/browser/lib.sh"
DEVTOOLS_PORT=$(free_port)

die() {
    echo "first-sound.sh: $*" >&2
    local log
    for log in "$TMP"/*.log "$TMP"/icecast/log/error.log; do
        [ -s "$log" ] && { echo "--- $log" >&2; tr -d '\000' <"$log" | tail -15 >&2; }
    done
    exit 1
}

# --- the two servers, each fed by its own ffmpeg ------------------------------------------------------------------
# publish PORT NAME — ffmpeg pushes the sine to 127.0.0.1:PORT/live (the command of peers.sh's source_start).
publish() {
    ffmpeg -nostdin -hide_banner -loglevel warning -re \
        -f lavfi -i "sine=frequency=440:sample_rate=44100" \
        -ac 2 -c:a libmp3lame -b:a 128k -ar 44100 \
        -id3v2_version 0 -write_xing 0 -map_metadata -1 \
        -content_type audio/mpeg -ice_name "Casty test tone 440 Hz" -ice_genre "Test" \
        -f mp3 "icecast://source:$ICECAST_SOURCE_PASSWORD@127.0.0.1:$1/live" \
        </dev/null >"$TMP/ffmpeg-$2.log" 2>&1 &
    peers_track $!
}
mount_live() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$1/live" 2>/dev/null)" = 200 ]; }

declare -A port
port[casty]=$(free_port)
# shellcheck disable=SC2086  # CASTY_OPTIONS is split into options on purpose
"$CLI" server --port "${port[casty]}" --host 127.0.0.1 --source-password "$ICECAST_SOURCE_PASSWORD" --mounts /live \
    ${CASTY_OPTIONS:-} </dev/null >"$TMP/casty.log" 2>&1 &
casty_pid=$!
peers_track "$casty_pid"
wait_port "${port[casty]}" 15 "$casty_pid" || die "casty-cli server did not listen on 127.0.0.1:${port[casty]}"
port[icecast]=$(free_port)
icecast_start "${port[icecast]}" "$TMP/icecast" || die "icecast2 did not start"
publish "${port[casty]}" casty
publish "${port[icecast]}" icecast
for server in casty icecast; do
    wait_until 10 mount_live "${port[$server]}" || die "/live on $server (127.0.0.1:${port[$server]}) did not go live"
done
sleep "$LEAD"

# --- the page: one file, the stream's URL in its query string -----------------------------------------------------
mkdir -p "$TMP/site"
cat >"$TMP/site/index.html" <<'HTML'
<!doctype html><meta charset="utf-8"><title>first sound</title>
<body>
<audio id="audio"></audio>
<script>
// ?src=STREAM&start=autoplay|play. ms from setting src to each event, in document.body.dataset (read back over
// the DevTools protocol).
const audio = document.getElementById("audio"), data = document.body.dataset;
const query = new URLSearchParams(location.search);
let asked;
for (const name of ["loadedmetadata", "canplay", "playing"]) {
  audio.addEventListener(name, () => { data[name] ??= (performance.now() - asked).toFixed(1); });
}
audio.addEventListener("error", () => { data.error = audio.error ? audio.error.code + " " + audio.error.message : "?"; });
audio.autoplay = query.get("start") === "autoplay";
asked = performance.now();
audio.src = query.get("src");
if (query.get("start") === "play") audio.play().catch(error => { data.error = String(error); });
data.asked = asked.toFixed(1);
</script>
</body>
HTML
page_port=$(free_port)
python3 -m http.server "$page_port" --bind 127.0.0.1 --directory "$TMP/site" >"$TMP/page.log" 2>&1 &
peers_track $!
wait_port "$page_port" 10 || die "the page's http.server did not start"

# --- the runs -----------------------------------------------------------------------------------------------------
# page_state — read the page's figures in one DevTools round trip into p (ms to 'playing'), m (loadedmetadata),
# c (canplay), err, ready and net (the element's readyState and networkState). The interpreter itself, not a
# version-manager shim in front of it: each poll starts one, and the machine is small.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
page_state() {
    IFS='|' read -r p m c err ready net < <("$PYTHON" "$root/scripts/browser/cdp.py" "$DEVTOOLS_PORT" "$STATE_JS" 2>/dev/null) || true
    [[ $p =~ ^[0-9.]+$ ]] || p=""   # cdp.py prints None while the page is not there yet
}
STATE_JS="(() => { const d = document.body ? document.body.dataset : {}, a = document.getElementById('audio');
  return [d.playing, d.loadedmetadata, d.canplay, d.error, a && a.readyState, a && a.networkState].map(v => v ?? '').join('|'); })()"
played() { page_state; [ -n "$p" ] || [ -n "$err" ]; }
# median N... — the median of the numbers (the mean of the middle two for an even count), one decimal.
median() { printf '%s\n' "$@" | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { printf "—"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f", m }'; }

chromium_version=$(chromium --version 2>/dev/null || echo '?')
cpu=$(lscpu | sed -nE 's/^Model name:[[:space:]]*//p' | head -1)
echo "first-sound.sh: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $RUNS runs per server and way of starting ($STARTS)"
echo "browser: $chromium_version (headless, --autoplay-policy=no-user-gesture-required)"
echo "cpu: Model name: $cpu ($(nproc) cores), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "servers: casty-cli server ($CLI, burst 4 × 8192-byte segments); icecast2 $(dpkg-query -W -f '${Version}' icecast2 2>/dev/null || echo '?') (burst-size $ICECAST_BURST_SIZE); each had ${LEAD} s of audio first"
echo
declare -A runs meta canplay
failed=0
for ((run = 1; run <= RUNS; run++)); do
    for start in $STARTS; do
        for server in casty icecast; do
            url="http://127.0.0.1:$page_port/index.html?start=$start&src=http://127.0.0.1:${port[$server]}/live"
            browser "$url" || die "chromium did not open its DevTools port"
            peers_track "$browser_pid"
            key="$server $start"
            p="" m="" c="" err="" ready="" net=""
            if wait_until "$PLAY_WAIT" played && [ -n "$p" ]; then
                runs[$key]+="$p " meta[$key]+="$m " canplay[$key]+="$c "
                printf 'run %d %-7s %-8s loadedmetadata %7s ms, canplay %7s ms, playing %7s ms after src was set\n' \
                    "$run" "$server" "$start" "${m:-?}" "${c:-?}" "$p"
            else
                printf 'run %d %-7s %-8s no playing within %d s (error %s, readyState %s, networkState %s)\n' "$run" "$server" \
                    "$start" "$PLAY_WAIT" "'$err'" "${ready:-?}" "${net:-?}"
                failed=$((failed + 1))
            fi
            browser_stop
            peers_stop "$browser_pid"
            rm -rf "$TMP"/profile-*
        done
    done
done

echo
echo "| server | started by | median ms to 'playing' | to loadedmetadata | to canplay | runs, ms to 'playing' |"
echo "|---|---|---:|---:|---:|---|"
for start in $STARTS; do
    for server in casty icecast; do
        key="$server $start"
        read -ra p <<<"${runs[$key]:-}"
        read -ra m <<<"${meta[$key]:-}"
        read -ra c <<<"${canplay[$key]:-}"
        list=$(printf '%s\n' "${p[@]}" | awk 'NF { printf "%s%.0f", (n++ ? ", " : ""), $1 }')
        label="<audio autoplay>"; [ "$start" = play ] && label="audio.play()"
        echo "| $server | $label | $(median "${p[@]}") | $(median "${m[@]}") | $(median "${c[@]}") | ${list:-none} |"
    done
done
if ((failed > 0)); then
    die "$failed of $((RUNS * 2 * $(wc -w <<<"$STARTS"))) pages never played"
fi
