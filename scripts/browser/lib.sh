#!/usr/bin/env bash
# lib.sh — headless chromium for scripts/browser: start it on a URL with the DevTools protocol, read the page back.
# Sourced, not run; needs TMP and pids (scripts/lib/common.sh); sets DEVTOOLS_PORT.

# browser URL [FLAG...] — a headless chromium on URL, autoplay allowed, DevTools on DEVTOOLS_PORT. The first one of a
# script is preceded by a chromium that only prints a blank page: a fresh machine's first chromium builds its font
# and profile caches first, and a CI run once saw its DevTools answer nothing for the whole of the first checks.
browser() {
    local url=$1
    shift
    if [ -z "${browser_warm:-}" ]; then
        timeout 90 chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$TMP/profile-warm" --dump-dom about:blank \
            >>"$TMP/chromium.log" 2>&1 || true
        browser_warm=1
    fi
    # Port 0: Chromium binds the DevTools port it is given by the kernel and writes it in DevToolsActivePort, so a
    # port chosen earlier cannot have been taken in between by another test's connection.
    local profile="$TMP/profile-$RANDOM$RANDOM"
    chromium --headless=new --no-sandbox --disable-gpu --autoplay-policy=no-user-gesture-required "$@" \
        --remote-debugging-port=0 --user-data-dir="$profile" "$url" >>"$TMP/chromium.log" 2>&1 &
    browser_pid=$!
    pids+=("$browser_pid")
    wait_until 20 test -s "$profile/DevToolsActivePort" && DEVTOOLS_PORT=$(head -1 "$profile/DevToolsActivePort")
    wait_until 20 listening "$DEVTOOLS_PORT"
}
browser_stop() { kill "$browser_pid" 2>/dev/null; wait "$browser_pid" 2>/dev/null; sleep 0.5; }

# evaluate EXPRESSION — the value of a JavaScript expression in the page.
evaluate() { python3 "$(dirname "${BASH_SOURCE[0]}")/cdp.py" "$DEVTOOLS_PORT" "$1" 2>/dev/null; }

# The player page, read back: its title, whether it shows one of the station's, how far its audio played.
page_title() { evaluate "document.getElementById('title').textContent"; }
page_has_title() { [[ "$(page_title)" == "Casty test tone"* ]]; }
page_played() { [ "$(evaluate "Number(document.body.dataset.played || 0)")" -ge "$1" ] 2>/dev/null; }
