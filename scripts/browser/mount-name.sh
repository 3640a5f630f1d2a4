#!/usr/bin/env bash
# mount-name.sh — the player page of a mount whose name is not ASCII, in a real browser (Debian's chromium,
# headless, driven over the DevTools protocol by scripts/browser/cdp.py).
#
# A server has the built-in station on /radio and a mount /música with no source yet. The browser opens
# /player/música, whose path it keeps %-escaped (/player/m%C3%BAsica): the page must show /música — asked of the
# server as /api/mounts/m%C3%BAsica —, not fall back to the live /radio. Then a link whose "mount" is another
# site's audio (/player//host/x.mp3, /?mount=http://host/x.mp3) must not make the station's page play it: that site
# (a python3 http.server) is asked nothing; and a token in the page's address goes with the stream it plays. Ports
# are picked free.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-browser-name.XXXXXX)
SERVER_PORT=$(free_port)
pids=()
failures=0
trap stop_started EXIT
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"
# shellcheck source=scripts/browser/lib.sh
. "$here/lib.sh"

"$CLI" server --port "$SERVER_PORT" --host 127.0.0.1 --source-password unused --mounts /música --station /radio \
    --name "Casty FM" --no-hls --loops 0 >"$TMP/server.log" 2>&1 &
pids+=($!)
wait_until 10 listening "$SERVER_PORT" || { fail "casty-cli server did not start"; cat "$TMP/server.log"; exit 1; }

browser "http://127.0.0.1:$SERVER_PORT/player/m%C3%BAsica" --window-size=900,760
station() { evaluate "document.getElementById('station').textContent"; }
shown() { [ -n "$(station)" ] && [ "$(station)" != "…" ]; }
wait_until 15 shown
if [ "$(station)" = "/música" ]; then
    pass "/player/música shows its mount, /música"
else
    fail "/player/música shows '$(station)', not /música"
fi
browser_stop

# A listener who logs in with a token in the page's address plays with it: the page's query, but for "mount",
# goes with the stream.
for link in "/player/radio?token=t%20k1&x=2" "/?mount=/radio&token=t%20k1&x=2"; do
    browser "http://127.0.0.1:$SERVER_PORT$link" --window-size=900,760
    wait_until 15 shown
    src=$(evaluate "document.getElementById('audio').src")
    # ... followed by the page's count of its loads (`_=1`), a new address for each.
    if [[ "$src" == "http://127.0.0.1:$SERVER_PORT/radio?token=t+k1&x=2&_="[0-9]* ]]; then
        pass "$link: the page plays /radio with the address's token"
    else
        fail "$link: the page's audio is '$src', not /radio?token=t+k1&x=2&_=N"
    fi
    browser_stop
done

# Another site with an MP3 on it, and two links that name it as the station's mount.
mkdir -p "$TMP/other" && head -c 20000 /dev/urandom >"$TMP/other/x.mp3"
serve_directory "$TMP/other" "$TMP/other.log" || fail "python3 http.server did not start"
OTHER_PORT=$served_port
for link in "/player//127.0.0.1:$OTHER_PORT/x.mp3" "/?mount=http://127.0.0.1:$OTHER_PORT/x.mp3"; do
    browser "http://127.0.0.1:$SERVER_PORT$link" --window-size=900,760
    wait_until 15 shown
    src=$(evaluate "document.getElementById('audio').src")
    if [ "$(station)" = "No such station" ] && [[ "$src" != *":$OTHER_PORT/"* ]]; then
        pass "$link: the page says no such station and plays nothing of another site"
    else
        fail "$link: the page shows '$(station)' and its audio is '$src'"
    fi
    browser_stop
done
if grep -q "GET /x.mp3" "$TMP/other.log"; then fail "the other site was asked for its audio: $(grep -c 'GET /x.mp3' "$TMP/other.log") time(s)"; fi

if ((failures > 0)); then
    echo "--- server log"
    tail -20 "$TMP/server.log"
    exit 1
fi
