#!/usr/bin/env bash
# refusals.sh [casty|icecast] — the server refuses sources and admin requests it must refuse, and says why.
#
# Server: casty with --mounts /live,/other (icecast: any mount; it has no whitelist). ffmpeg publishes /live.
#   (a) wrong source password: PUT + Expect: 100-continue → 401 (before any 100 Continue), legacy SOURCE →
#       401, no Authorization at all (libshout's first probe) → 401 with WWW-Authenticate: Basic;
#   (b) a second source on the live mount /live, PUT and SOURCE → 403;
#   (c) casty only: a mount not on --mounts → 403; a source with another user name than `source` and the right
#       password is accepted on /other (Icecast 2.4 wants the user `source`: 401);
#   (d) admin: /admin/listmounts without credentials, with a wrong admin password, and with the source's
#       credentials → 401; /admin/metadata with a wrong admin or source password → 401;
#   (e) after all that, /live still plays the first source (ffmpeg still connected, listeners decode 440 Hz);
#   (f) casty only: for each refused source one log line names the peer (127.0.0.1:PORT, the source's own
#       port) and the status (401/403) — none for the source asked for credentials it did not send (libshout's
#       probe) —, and neither password (nor its base64 form) appears in the log.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/lib.sh"
station_begin "${1:-casty}" mpg123

WRONG_PW="WrongPw-Q8r4t"
server_start --mounts /live,/other
ffmpeg_publish ffmpeg-live /live 440 mp3 -ice_name "Casty Refusals Test"
LIVE_SRC=$LAST_PID
if ! wait_live /live 10; then
    fail "/live does not answer 200 within 10 s of ffmpeg's PUT; no refusal can be checked"
    exit 1
fi

# refuse NAME WANT WHAT icy.py-source-options... — run one source attempt, check the status is WANT; records
# NAME's local port in PEER_NAME for the log checks.
declare -A PEER=()
declare -A WANTED=()
refuse() {
    local name=$1 want=$2 what=$3 got
    shift 3
    python3 "$ICY_PY" source --port "$PORT" "$@" </dev/null >"$TMP/$name.out" 2>&1 || true
    evidence_log "source $name" "$TMP/$name.out"
    got=$(out_status "$TMP/$name.out")
    PEER[$name]=$(sed -nE 's/^LOCAL //p' "$TMP/$name.out" | head -1)
    WANTED[$name]=$want
    if [ "$got" = "$want" ]; then
        pass "$what → $want ($(grep -E '^STATUS' "$TMP/$name.out" | cut -d' ' -f3- | head -1); body $(sed -nE 's/^BODY //p' "$TMP/$name.out" | head -1))"
    else
        fail "$what: expected $want, got $(out_line "$TMP/$name.out")"
    fi
}

# --- (a) wrong or missing password ----------------------------------------------------------------------------
refuse put-wrong 401 "(a) PUT /live + Expect: 100-continue, wrong password" \
    --mount /live --method PUT --expect --password "$WRONG_PW" --file /dev/null
if grep -q '^INTERIM' "$TMP/put-wrong.out"; then
    fail "(a) a 100 Continue came before the 401: the password must be checked before the body is invited"
else
    pass "(a) no 100 Continue before the 401"
fi
refuse source-wrong 401 "(a) SOURCE /live HTTP/1.0, wrong password" --mount /live --method SOURCE --password "$WRONG_PW"
refuse source-noauth 401 "(a) SOURCE /other without Authorization (libshout's first try)" \
    --mount /other --method SOURCE --header "Content-Length: 0"
if grep -qiE '^HEADER WWW-Authenticate: *Basic' "$TMP/source-noauth.out"; then
    pass "(a) the 401 carries WWW-Authenticate: Basic (libshout answers it with credentials)"
else
    fail "(a) the 401 has no WWW-Authenticate: Basic header: $(grep '^HEADER' "$TMP/source-noauth.out" | tr '\n' ' ')"
fi

# --- (b) a second source on a live mount ----------------------------------------------------------------------
refuse put-busy 403 "(b) PUT /live + Expect while ffmpeg publishes /live" \
    --mount /live --method PUT --expect --password "$SRC_PW" --file /dev/null
refuse source-busy 403 "(b) SOURCE /live while ffmpeg publishes /live" --mount /live --method SOURCE --password "$SRC_PW"

# --- (c) casty only: whitelist and user names ------------------------------------------------------------------
if casty_only "mount whitelist (--mounts): Icecast 2.4 accepts a source on any mount"; then
    refuse put-unknown 403 "(c) PUT /unlisted (not on --mounts /live,/other)" \
        --mount /unlisted --method PUT --expect --password "$SRC_PW" --file /dev/null
    refuse source-unknown 403 "(c) SOURCE /unlisted (not on --mounts)" --mount /unlisted --method SOURCE --password "$SRC_PW"
fi
if casty_only "any source user name: Icecast 2.4 answers 401 unless the user is 'source'"; then
    make_mp3 "$TMP/tone.mp3" 660 3
    python3 "$ICY_PY" source --port "$PORT" --mount /other --method SOURCE --user someone --password "$SRC_PW" \
        --file "$TMP/tone.mp3" --seconds 1 </dev/null >"$TMP/user-other.out" 2>&1 || true
    evidence_log "source user-other" "$TMP/user-other.out"
    check "(c) SOURCE /other as user 'someone' with the right password is accepted (200)" \
        "(c) SOURCE /other as user 'someone': $(out_line "$TMP/user-other.out")" test "$(out_status "$TMP/user-other.out")" = 200
fi

# --- (d) admin ------------------------------------------------------------------------------------------------
for who in "" "admin:$WRONG_PW" "source:$SRC_PW"; do
    label=${who:-no credentials}
    label=${label//$WRONG_PW/WRONG}
    label=${label//$SRC_PW/SOURCE-PW}
    if [ -n "$who" ]; then
        code=$(curl -s -D "$TMP/admin-h.txt" -o "$TMP/admin-b.txt" -w '%{http_code}' --max-time 5 -u "$who" "$BASE/admin/listmounts" 2>/dev/null) || true
    else
        code=$(curl -s -D "$TMP/admin-h.txt" -o "$TMP/admin-b.txt" -w '%{http_code}' --max-time 5 "$BASE/admin/listmounts" 2>/dev/null) || true
    fi
    if [ "$code" = 401 ] && ! grep -q '/live' "$TMP/admin-b.txt"; then
        pass "(d) /admin/listmounts with $label → 401 ($(head -1 "$TMP/admin-h.txt" | tr -d '\r'))"
    else
        fail "(d) /admin/listmounts with $label → $code (expected 401, no mount list): $(head -c 200 "$TMP/admin-b.txt")"
    fi
done
code=$(set_title_as "admin:$WRONG_PW" /live "Should Not Appear")
check "(d) /admin/metadata with a wrong password → 401" "(d) /admin/metadata with a wrong password → $code" test "$code" = 401
code=$(set_title_as "source:$WRONG_PW" /live "Should Not Appear")
check "(d) /admin/metadata with a wrong source password → 401" "(d) /admin/metadata with a wrong source password → $code" test "$code" = 401

# --- (e) the first source was not disturbed --------------------------------------------------------------------
evidence_log "mpg123" "$TMP/mpg123.log"
timeout 20 mpg123 -n 120 -w "$TMP/live.wav" "$BASE/live" >"$TMP/mpg123.log" 2>&1 || true
audio_check "(e) after the refusals, mpg123 on /live" "$TMP/live.wav" 2.5 440
check "(e) the first ffmpeg source is still connected" \
    "(e) the first ffmpeg source exited: $(tail -3 "$TMP/ffmpeg-live.log" | tr '\n' ' ')" alive "$LIVE_SRC"

# --- (f) casty only: the log -------------------------------------------------------------------------------------
if casty_only "log lines naming peer and status (Icecast logs the mount and 127.0.0.1, not the peer's port)"; then
    for name in "${!PEER[@]}"; do
        peer=${PEER[$name]}
        want=${WANTED[$name]}
        [ -n "$peer" ] || { fail "(f) $name: no local address recorded"; continue; }
        n=$(tr -d '\000' <"$SERVER_LOG" | grep -F -- "$peer" | grep -cwE -- "$want" || true)
        # A source without credentials is asked for them (libshout asks so before every publish): no line.
        expected=1
        [ "$name" != source-noauth ] || expected=0
        if [ "$n" = "$expected" ]; then
            pass "(f) $name: $n log lines name $peer and $want: $(grep -F -- "$peer" "$SERVER_LOG" | grep -wE -- "$want" | head -1 | cut -c1-200)"
        else
            fail "(f) $name: $n log lines name the peer $peer with status $want (expected $expected)"
        fi
    done
    leaked=""
    for secret in "$SRC_PW" "$ADMIN_PW" "$WRONG_PW" \
        "$(printf 'source:%s' "$SRC_PW" | base64)" "$(printf 'source:%s' "$WRONG_PW" | base64)" \
        "$(printf 'admin:%s' "$ADMIN_PW" | base64)" "$(printf 'admin:%s' "$WRONG_PW" | base64)"; do
        if grep -qF -- "$secret" "$SERVER_LOG"; then leaked+=" ${secret:0:4}…"; fi
    done
    check "(f) no password (nor its base64 form) appears in the log" "(f) the log contains secrets starting with:$leaked" test -z "$leaked"
else
    info "icecast log for the refusals: $(grep -E 'invalid or missing password|in use|Bad or missing password' "$SERVER_LOG" | sed -E 's/^\[[^]]*\] //' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
fi

station_end
