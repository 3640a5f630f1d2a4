#!/usr/bin/env bash
# relay-login.sh — Casty's relay logs in to a password-protected Icecast 2 mount with the login given in the station
# URL (http://user:password@host:port/mount, the password %-escaped), against real Icecast 2 and ffmpeg.
#
# Icecast serves /protected, fed by ffmpeg, behind listener authentication (htpasswd: user `relay`, a password with
# @ : space / # and % in it, all %-escaped in the URL). Asserts: Icecast admits curl with that login (the htpasswd
# file is right) and answers 401 without one; `casty-cli proxy http://relay:…@…/protected` relays the mount and
# mpg123 decodes 3 s of sound (not silence) from the proxy; `casty-cli server --relay /r=http://relay:…@…/protected`
# relays it as /r and mpg123 decodes 3 s of sound from /r; Icecast lists both relays as listeners logged in as
# `relay`; with a wrong password the proxy logs that the server answered 401 and that its login was refused, keeps running and tries again (a
# second 401 line), and players get 503; no log and no /status.json holds the password (as typed, %-escaped, or in
# the Basic credentials) or a URL with a login in it. Exit 0 only if all passed. About 20 s; needs icecast2,
# ffmpeg, mpg123, curl, python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/peers.sh
. "$here/../lib/peers.sh"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-relay-login.XXXXXX)
chmod 755 "$TMP"  # as root, Icecast runs as icecast2: it must reach its workdir and read the htpasswd file
ICE=$(free_port) PROXY=$(free_port) BAD=$(free_port) SERVER=$(free_port)
failures=0
trap 'peers_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

for tool in icecast2 ffmpeg mpg123 curl python3; do
    command -v "$tool" >/dev/null || { fail "$tool is not installed (run scripts/install-peers.sh)"; exit 1; }
done

# The login. The password needs %-escaping in a URL: @ (%40), : (%3A), space (%20), / (%2F), # (%23), % (%25).
LOGIN=relay
PW='p@ss:w rd/#%1'
PW_URL='p%40ss%3Aw%20rd%2F%23%251'
WRONG_PW='wr@ng'
WRONG_PW_URL='wr%40ng'
BASIC=$(printf '%s:%s' "$LOGIN" "$PW" | base64 -w0)
WRONG_BASIC=$(printf '%s:%s' "$LOGIN" "$WRONG_PW" | base64 -w0)
MOUNT_URL="http://127.0.0.1:$ICE/protected"
LOGIN_URL="http://$LOGIN:$PW_URL@127.0.0.1:$ICE/protected"
BAD_URL="http://$LOGIN:$WRONG_PW_URL@127.0.0.1:$ICE/protected"

# Icecast 2.4's htpasswd authenticator reads lines `user:md5hex` (the MD5 of the password, lower-case hex; its admin
# manageauth call writes the same).
printf '%s:%s\n' "$LOGIN" "$(printf '%s' "$PW" | md5sum | cut -d' ' -f1)" >"$TMP/users.htpasswd"
chmod 644 "$TMP/users.htpasswd"
ICECAST_MOUNTS_XML="
    <mount>
        <mount-name>/protected</mount-name>
        <authentication type=\"htpasswd\">
            <option name=\"filename\" value=\"$TMP/users.htpasswd\"/>
            <option name=\"allow_duplicate_users\" value=\"1\"/>
        </authentication>
    </mount>"
ICECAST_MOUNTS_XML=$ICECAST_MOUNTS_XML icecast_start "$ICE" "$TMP/icecast" || { fail "Icecast did not start"; exit 1; }
# (peers.sh's source_start waits for a 200 that a protected mount only gives with a login: start ffmpeg here.)
ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i "sine=frequency=440:sample_rate=44100" \
    -ac 2 -c:a libmp3lame -b:a 128k -ar 44100 -content_type audio/mpeg \
    -f mp3 "icecast://source:$ICECAST_SOURCE_PASSWORD@127.0.0.1:$ICE/protected" </dev/null >"$TMP/ffmpeg.log" 2>&1 &
peers_track $!

# code [CURL ARGS…] — the HTTP status Icecast gives /protected (000 if none within 1 s; the body is not read).
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" "$MOUNT_URL" 2>/dev/null || true; }
with_login() { [ "$(code -u "$LOGIN:$PW")" = 200 ]; }
check "Icecast: /protected is live and admits curl with relay's login (200; the htpasswd file works)" wait_until 10 with_login
check "Icecast: /protected without a login answers 401" test "$(code)" = 401
check "Icecast: /protected with a wrong password answers 401" test "$(code -u "$LOGIN:$WRONG_PW")" = 401

# casty NAME ARGS… — casty-cli ARGS… in the background, logging to NAME.log; sets LAST_PID.
casty() {
    local name=$1
    shift
    "$CLI" "$@" </dev/null >"$TMP/$name.log" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
}
casty bad proxy "$BAD_URL" --port "$BAD" --host 127.0.0.1
BAD_PID=$LAST_PID
casty proxy proxy "$LOGIN_URL" --port "$PROXY" --host 127.0.0.1
casty server server --port "$SERVER" --host 127.0.0.1 --source-password hackme-too --mounts /r --relay "/r=$LOGIN_URL"

# streaming URL — Casty's /status.json at URL says its upstream streams (a proxy) or relays (a server's mount).
streaming() { curl -s --max-time 2 "$1" 2>/dev/null | grep -qE '"upstream":"(streaming|relay)"'; }
# sounds NAME URL — mpg123 decodes 115 MP3 frames (3 s) from URL into NAME.wav: 2.5 s or more of audio whose mean
# volume is above -40 dB (the source's sine is about -21 dB; silence is -91 dB).
sounds() {
    local mean
    timeout 15 mpg123 -q -n 115 -w "$TMP/$1.wav" "$2" >"$TMP/mpg123-$1.log" 2>&1 || return 1
    (($(file_size "$TMP/$1.wav") >= 441000)) || return 1
    mean=$(ffmpeg -nostdin -hide_banner -i "$TMP/$1.wav" -af volumedetect -f null - 2>&1 |
        grep -oE 'mean_volume: -?[0-9.]+' | awk '{ print $2 }')
    echo "$1: mean volume ${mean:-?} dB" >>"$TMP/mpg123-$1.log"
    [ -n "$mean" ] && awk -v m="$mean" 'BEGIN { exit !(m > -40) }'
}
check "proxy of http://relay:…@…/protected: it streams (/status.json)" \
    wait_until 10 streaming "http://127.0.0.1:$PROXY/status.json"
check "…and mpg123 decodes 3 s of sound from the proxy" sounds proxy "http://127.0.0.1:$PROXY/"
check "server --relay /r=http://relay:…@…/protected: /r relays (/status.json)" \
    wait_until 10 streaming "http://127.0.0.1:$SERVER/status.json"
check "…and mpg123 decodes 3 s of sound from /r" sounds server "http://127.0.0.1:$SERVER/r"
# Icecast's own word: its listeners of /protected include two Casty relays logged in as `relay`.
logged_in() {
    curl -s --max-time 2 -u "$ICECAST_ADMIN_USER:$ICECAST_ADMIN_PASSWORD" \
        "http://127.0.0.1:$ICE/admin/listclients?mount=/protected" >"$TMP/listclients.xml" 2>/dev/null || return 1
    [ "$(grep -oE "<UserAgent>Casty</UserAgent><Connected>[0-9]+</Connected><ID>[0-9]+</ID><username>$LOGIN</username>" \
        "$TMP/listclients.xml" | wc -l)" -ge 2 ]
}
check "Icecast lists the proxy and the server as listeners of /protected logged in as relay" wait_until 5 logged_in

refused() { [ "$(grep -cE '\b401\b' "$TMP/bad.log")" -ge "$1" ]; }
check "wrong password: the proxy logs that the server answered 401" wait_until 10 refused 1
check "…and that the URL's login was refused (not that none was sent)" log_has "$TMP/bad.log" "401 .*the URL's login was refused"
unavailable() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 8 "http://127.0.0.1:$BAD/")" = 503 ]; }
check "…players get 503 from it" unavailable
check "…it keeps running and tries again: a second 401 line" wait_until 15 refused 2
check "…and it is still running" alive "$BAD_PID"

# secret_free FILE… — none of FILEs holds either password (as typed, %-escaped, or in Basic credentials), nor a URL
# with a login (user:…@) in it.
secret_free() {
    local file secret
    for file in "$@"; do
        for secret in "$PW" "$PW_URL" "$BASIC" "$WRONG_PW" "$WRONG_PW_URL" "$WRONG_BASIC"; do
            if grep -qF -- "$secret" "$file"; then echo "$file holds '$secret'"; return 1; fi
        done
        if grep -qE -- "$LOGIN(:[^[:space:]]*)?@" "$file"; then echo "$file holds a login: $(grep -E "$LOGIN(:[^[:space:]]*)?@" "$file")"; return 1; fi
    done
}
check "no password or login in the proxies' and the server's logs" secret_free "$TMP/proxy.log" "$TMP/server.log" "$TMP/bad.log"
curl -s --max-time 2 "http://127.0.0.1:$PROXY/status.json" >"$TMP/proxy-status.json" || true
curl -s --max-time 2 "http://127.0.0.1:$BAD/status.json" >"$TMP/bad-status.json" || true
curl -s --max-time 2 "http://127.0.0.1:$SERVER/status.json" >"$TMP/server-status.json" || true
check "…nor in their /status.json" secret_free "$TMP/proxy-status.json" "$TMP/bad-status.json" "$TMP/server-status.json"

if ((failures > 0)); then
    for log in "$TMP"/*.log "$TMP"/listclients.xml "$TMP"/icecast/log/error.log "$TMP"/icecast/log/access.log; do
        [ -f "$log" ] && { echo "--- $log"; tail -15 "$log"; }
    done
    exit 1
fi
echo "PASS: relay-login.sh: all checks passed"
