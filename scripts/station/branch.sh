#!/usr/bin/env bash
# branch.sh [casty] — sources publish to a Casty root, and players listen through a branch under it (issue 11,
# "Listeners play through the node and through a branch under it; a title set with /admin/metadata reaches them").
#
#   (a) ffmpeg publishes MP3 to /live and AAC to /aac on `casty-cli root` (Icecast's PUT); a `casty-cli branch`
#       with the root's URL (no path: every mount of the tree) answers 200 for both;
#   (b) through the branch, the source's station headers (icy-name from ice-name) and the content types;
#   (c) through the branch, mpg123 decodes /live (440 Hz, not silent), ffmpeg decodes /aac (660 Hz), and cvlc (as
#       an unprivileged user) opens /live, starts its MPEG audio decoder and plays 5 s;
#   (d) a title set on the root with /admin/metadata reaches an Icy-MetaData listener of the branch, framing intact;
#   (e) the root's /tree shows the branch under /live.
# Casty only: Icecast has no branches.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/lib.sh"
station_begin "${1:-casty}" mpg123 cvlc
casty_only "a tree of Casty nodes (Icecast has no branches)" || station_end

SERVER_COMMAND=root server_start --mounts /live,/aac
ROOT_BASE=$BASE
ffmpeg_publish ffmpeg-live /live 440 mp3 -ice_name "Casty Branch Test"
LIVE_SRC=$LAST_PID
ffmpeg_publish ffmpeg-aac /aac 660 aac -ice_name "Casty Branch AAC"
check "(a) ffmpeg published MP3 to the root's /live" "(a) the root's /live does not answer 200 within 10 s" wait_live /live 10
check "(a) ffmpeg published AAC to the root's /aac" "(a) the root's /aac does not answer 200 within 10 s" wait_live /aac 10

BRANCH_PORT=$(station_port)
evidence_log "casty-cli branch" "$TMP/branch.log"
"$CLI" branch --root "$ROOT_BASE/" --port "$BRANCH_PORT" --host 127.0.0.1 --advertise "127.0.0.1:$BRANCH_PORT" \
    </dev/null >"$TMP/branch.log" 2>&1 &
BRANCH_PID=$!
peers_track "$BRANCH_PID"
wait_port "$BRANCH_PORT" 15 "$BRANCH_PID" || { fail "casty-cli branch did not listen on $BRANCH_PORT"; exit 1; }
B="http://127.0.0.1:$BRANCH_PORT"
branch_live() { [ "$(http_code "$B$1")" = 200 ]; }
check "(a) the branch relays /live (200)" "(a) the branch's /live answers $(http_code "$B/live")" wait_until 15 branch_live /live
check "(a) the branch relays /aac (200)" "(a) the branch's /aac answers $(http_code "$B/aac")" wait_until 15 branch_live /aac

# --- (b) station headers through the branch -----------------------------------------------------------------------
curl -s -0 -D "$TMP/headers-live.txt" -o /dev/null --max-time 1 "$B/live" || true
curl -s -0 -D "$TMP/headers-aac.txt" -o /dev/null --max-time 1 "$B/aac" || true
hdr() { tr -d '\r' <"$1" | grep -i "^$2:" | head -1 | sed -E 's/^[^:]*:[[:space:]]*//'; }
check "(b) through the branch: icy-name from the source's ice-name, audio/mpeg and audio/aac" \
    "(b) through the branch: icy-name '$(hdr "$TMP/headers-live.txt" icy-name)', types '$(hdr "$TMP/headers-live.txt" content-type)' / '$(hdr "$TMP/headers-aac.txt" content-type)'" \
    test "$(hdr "$TMP/headers-live.txt" icy-name)|$(hdr "$TMP/headers-live.txt" content-type)|$(hdr "$TMP/headers-aac.txt" content-type)" = "Casty Branch Test|audio/mpeg|audio/aac"

# --- (c) players through the branch ---------------------------------------------------------------------------------
decoder_start live mpg123 "$B/live" 4
MPG=$LAST_PID
decoder_start aac ffmpeg "$B/aac" 4
FFL=$LAST_PID
evidence_log "cvlc" "$TMP/vlc.log"
(
    rc=0
    as_unprivileged timeout 30 cvlc -vv --play-and-exit --run-time 5 --aout=dummy --no-video "$B/live" \
        >"$TMP/vlc.log" 2>&1 || rc=$?
    echo "$rc" >"$TMP/vlc.rc"
) &
peers_track "$!"

# --- (d) a title set on the root reaches the branch's listener --------------------------------------------------------
listen_start meta "$B/live" 15 --meta --until-title "Branch Title One" --ua "casty-branch-listener/1"
META=$LAST_PID
sleep 1
code=$(set_title_as "admin:$ADMIN_PW" /live "Branch Title One")
check "(d) /admin/metadata on the root answered 200" "(d) /admin/metadata answered $code" test "$code" = 200

# --- (e) the root's tree -----------------------------------------------------------------------------------------------
tree_has_branch() { curl -s --max-time 2 "$ROOT_BASE/tree?mount=/live" | grep -qF "127.0.0.1:$BRANCH_PORT"; }
check "(e) the root's /tree shows the branch under /live" \
    "(e) /tree?mount=/live does not name the branch: $(curl -s --max-time 2 "$ROOT_BASE/tree?mount=/live" | head -c 300)" \
    wait_until 5 tree_has_branch

wait "$META" 2>/dev/null || true
title_check "(d) the title reached the branch's Icy-MetaData listener" meta "Branch Title One" || true
wait "$MPG" "$FFL" 2>/dev/null || true
audio_check "(c) mpg123 on the branch's /live" "$TMP/live.wav" 3.5 440
audio_check "(c) ffmpeg on the branch's /aac" "$TMP/aac.wav" 3.5 660
wait_until 30 test -s "$TMP/vlc.rc" || true
vlc_rc=$(cat "$TMP/vlc.rc" 2>/dev/null || echo none)
vlc_played() {
    [ "$vlc_rc" = 0 ] && log_has "$TMP/vlc.log" 'successfully opened' &&
        log_has "$TMP/vlc.log" 'using audio decoder module "(mpg123|mpga|mad|avcodec)"' &&
        log_has "$TMP/vlc.log" 'MPGA channels:2 samplerate:44100'
}
check "(c) cvlc (unprivileged) opened the branch's /live, started the MPEG audio decoder, played 5 s and exited 0" \
    "(c) cvlc exit status $vlc_rc, or its log lacks 'successfully opened' / the audio decoder / MPGA channels" vlc_played
alive "$LIVE_SRC" || fail "the /live ffmpeg source exited: $(tail -3 "$TMP/ffmpeg-live.log" | tr '\n' ' ')"

station_end
