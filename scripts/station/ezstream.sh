#!/usr/bin/env bash
# ezstream.sh [casty|icecast] — ezstream (Debian's 1.0.2, libshout 2.4.6) publishes an MP3 file.
#
# ezstream has no choice of method: with <protocol>HTTP</protocol> libshout first sends legacy
# `SOURCE /mount HTTP/1.0` without credentials (Content-Length: 0, a probe that must get 401 +
# WWW-Authenticate: Basic), then publishes with `Authorization: Basic source:PW` — with `PUT /mount HTTP/1.1` and
# `Expect: 100-continue` if the probe's answer (or OPTIONS *'s) lists PUT in `Allow`, as Casty's does, else again
# with `SOURCE` (Icecast 2.4's 401 has no `Allow`); it sets the title from the file name with
# `GET /admin/metadata?mode=updinfo&mount=…&charset=UTF-8&song=…` (again first without, then with the source's
# credentials). ICY (<protocol>ICY</protocol>) is Shoutcast's protocol, which Casty does not take. So two runs:
#   run 1, <tls>None</tls>: (a) /ez1.mp3 answers 200 within 10 s (on Casty, published with PUT: its 401 lists PUT
#       in `Allow`); (b) the reply carries icy-name/icy-genre from
#       <stream_name>/<stream_genre>; (c) mpg123 decodes 3 s, not silent, 660 Hz; (d) an Icy-MetaData listener
#       sees StreamTitle='casty-ez-tone' (the file name, set by ezstream through /admin/metadata);
#   run 2, <tls> left at its default (May): libshout first sends `OPTIONS * HTTP/1.1` with
#       `Upgrade: TLS/1.0, HTTP/1.1` (RFC 2817); the server must not choke on it: (e) /ez2.mp3 answers 200 and
#       mpg123 decodes it, not silent.
# shellcheck disable=SC2317  # helpers run through wait_until
set -euo pipefail
# shellcheck source=scripts/station/lib.sh
. "$(dirname "$0")/lib.sh"
station_begin "${1:-casty}" ezstream mpg123

make_mp3 "$TMP/casty-ez-tone.mp3" 660 20
server_start --accept-all

# ezstream_start NAME MOUNT TLS-XML — write $TMP/NAME.xml and run ezstream with it; sets LAST_PID.
ezstream_start() {
    local name=$1 mount=$2 tls=$3
    cat >"$TMP/$name.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ezstream>
  <servers>
    <server>
      <protocol>HTTP</protocol>
      <hostname>127.0.0.1</hostname>
      <port>$PORT</port>
      <user>source</user>
      <password>$SRC_PW</password>
      $tls
      <reconnect_attempts>2</reconnect_attempts>
    </server>
  </servers>
  <streams>
    <stream>
      <mountpoint>$mount</mountpoint>
      <format>MP3</format>
      <stream_name>Casty ezstream test</stream_name>
      <stream_genre>EZ Genre</stream_genre>
      <stream_description>ezstream publishing a 660 Hz file</stream_description>
      <stream_public>No</stream_public>
    </stream>
  </streams>
  <intakes>
    <intake>
      <type>file</type>
      <filename>$TMP/casty-ez-tone.mp3</filename>
    </intake>
  </intakes>
</ezstream>
XML
    chmod 600 "$TMP/$name.xml"
    evidence_log "ezstream $name" "$TMP/$name.log"
    ezstream -v -c "$TMP/$name.xml" </dev/null >"$TMP/$name.log" 2>&1 &
    LAST_PID=$!
    peers_track "$LAST_PID"
}

hdr() { tr -d '\r' <"$1" | grep -i "^$2:" | head -1 | sed -E 's/^[^:]*:[[:space:]]*//'; }

# --- run 1: no TLS attempt ----------------------------------------------------------------------------------------
ezstream_start ez1 /ez1.mp3 "<tls>None</tls>"
EZ1=$LAST_PID
if wait_live /ez1.mp3 10; then
    pass "(a) ezstream (tls None) published /ez1.mp3: it answers 200"
else
    fail "(a) /ez1.mp3 does not answer 200 within 10 s of ezstream's start (ezstream $(alive "$EZ1" && echo running || echo exited))"
fi
listen_start ez1-meta "$BASE/ez1.mp3" 10 --meta --until-title casty-ez-tone
META=$LAST_PID
curl -s -0 -D "$TMP/headers-ez1.txt" -o /dev/null --max-time 1 "$BASE/ez1.mp3" || true
evidence_log "reply headers /ez1.mp3" "$TMP/headers-ez1.txt"
if [ "$TARGET" = casty ]; then
    check "(a) libshout published with PUT (Casty's 401 to its probe lists PUT in Allow)" \
        "(a) no 'publishing /ez1.mp3 (PUT' in Casty's log: $(grep -m1 'publishing /ez1.mp3' "$SERVER_LOG" || echo 'no publishing line')" \
        grep -q "publishing /ez1.mp3 (PUT" "$SERVER_LOG"
fi
check "(b) icy-name and icy-genre from ezstream's stream_name and stream_genre" \
    "(b) icy-name '$(hdr "$TMP/headers-ez1.txt" icy-name)', icy-genre '$(hdr "$TMP/headers-ez1.txt" icy-genre)' (want 'Casty ezstream test', 'EZ Genre')" \
    test "$(hdr "$TMP/headers-ez1.txt" icy-name)|$(hdr "$TMP/headers-ez1.txt" icy-genre)" = "Casty ezstream test|EZ Genre"
evidence_log "mpg123 ez1" "$TMP/mpg123-ez1.log"
timeout 15 mpg123 -n 115 -w "$TMP/ez1.wav" "$BASE/ez1.mp3" >"$TMP/mpg123-ez1.log" 2>&1 || true
audio_check "(c) mpg123 on /ez1.mp3" "$TMP/ez1.wav" 2.5 660
wait "$META" 2>/dev/null || true
if [ "$(json_field "$TMP/ez1-meta.json" until_title_seen)" = True ]; then
    pass "(d) ezstream's title (from the file name, via /admin/metadata with the source's credentials) reached an Icy-MetaData listener"
else
    fail "(d) no StreamTitle='casty-ez-tone' at the listener (titles $(json_field "$TMP/ez1-meta.json" titles), status $(json_field "$TMP/ez1-meta.json" status), framing $(json_field "$TMP/ez1-meta.json" framing_ok))"
fi
peers_stop "$EZ1"

# --- run 2: TLS may (OPTIONS * + Upgrade first) -----------------------------------------------------------------
ezstream_start ez2 /ez2.mp3 ""
EZ2=$LAST_PID
if wait_live /ez2.mp3 10; then
    pass "(e) ezstream with the default TLS setting (OPTIONS * + Upgrade: TLS first) published /ez2.mp3"
else
    fail "(e) /ez2.mp3 does not answer 200 within 10 s of ezstream's start (ezstream $(alive "$EZ2" && echo running || echo exited))"
fi
evidence_log "mpg123 ez2" "$TMP/mpg123-ez2.log"
timeout 15 mpg123 -n 80 -w "$TMP/ez2.wav" "$BASE/ez2.mp3" >"$TMP/mpg123-ez2.log" 2>&1 || true
audio_check "(e) mpg123 on /ez2.mp3" "$TMP/ez2.wav" 1.8 660
peers_stop "$EZ2"
info "ezstream run 1 said: $(grep -vE '^\s*$' "$TMP/ez1.log" | head -3 | tr '\n' ' ' | cut -c1-300)"

station_end
