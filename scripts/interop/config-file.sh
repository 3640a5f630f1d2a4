#!/usr/bin/env bash
# config-file.sh — `casty-cli server --config FILE` (Sources/casty-cli/ConfigFile.swift): a station of many mounts
# read from a file, and the mistakes a file may hold.
#
# Asserts: a file with a byte order mark, tabs, comments, CRLF line ends (a mistake names its line) and nine mounts (one not ASCII) starts a server whose
# /status.json lists every mount, the command line winning over the file, and which logs its status line every
# status-every seconds (blanks around a fallback's = no part of its mounts); each broken file — an unknown name (one written with its dashes told how a file writes it), a
# flag given a value, an option given none, a port that is no number, a mount that is no name (mounts separated by
# blanks or ';' told to take commas, a name with a blank told it holds none, a list of commas only), a bad fallback (a chain written as a list told to give one
# --fallback each; fallbacks in a circle, the circle alone named, at one of its lines), a line written name=value, name: value or name = value (told to separate them with a blank),
# --record with --no-hls, a --public-url without http://, an --event-spool in no directory, a secret given twice
# or in the wrong form (never quoted), a --record, --mount-max-listeners or --srt-passphrase of a mount not listed (of
# an option on several lines, the faulty line named, not the option's last: --fallback, --mount-password, --relay, …),
# a --mount-max-listeners that is no positive number (the value quoted), an Icecast icecast.xml (told Casty reads no XML), one mount's password given twice or empty, a --mount-user that is empty or holds ':', an empty or unclosed quoted value, a mount's value that opens a quote it does not close, an --hls-dir that cannot be made — ends casty-cli with
# status 1 and one first line that names the file and the line (the file alone for a mistake of no single line: a
# listed mount no password lets a source publish — with some mount's password in the file, or none at all —, at
# start-up and read again on SIGHUP; a file in UTF-16 or another encoding than UTF-8, told to be saved as UTF-8); so
# does a --config that names a directory (naming --config) or is empty, and a flag given a value on the command line (--accept-all=no). Two
# --config files are both read, the later winning (one file given under two paths is read once), one mount's value
# (--fallback, --mount-password) too: the command line's or a later file's over a file's, each mount's alone — given
# twice in one file or on the command line, it is refused naming the lines or the command line; a comment after a value is no part of it (`--se#cret  # …`); a
# server of relays only needs no source password; a value in double quotes keeps its blanks and `#`, and so does one
# mount's (`mount-password /dj="s p #1"` is `s p #1`, its quotes no part of it, nor of a --mount-user's or --fallback's), and a value
# a ' #' right before a word cut short is warned of (the line named, how to keep the '#' said, a secret not shown); an empty value
# on the command line is a mistake too, a bad environment variable is named as such and an empty one is not set; a
# server with no mount and no admin password says so as it starts; SIGHUP reads the file again (passwords, whitelist), one
# line saying what changed and what waits for a restart (said by the reading that changed it only), and a broken or emptied file read again changes nothing; after
# a burst of SIGHUPs the last file holds; a mount off the list keeps its fallback (its listeners hear it, no source
# publishes it; the start line says so), at start and when SIGHUP takes it off, its listeners staying connected; a mistake in an option taken only at a restart is refused on SIGHUP too,
# and a --record-dir or --hls-dir read again is not made by the reading (one that cannot be made is refused).
# Exit 0 only if all passed. About 5 s; needs python3 and curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-config-file.XXXXXX)
pids=()
failures=0
trap stop_started EXIT

# refused NAME LINE EXPECTED CONTENT — a config file holding CONTENT (printf format) makes `casty-cli server` exit 1
# with one line naming the file, line LINE (none when LINE is empty: a mistake of no single line) and the text EXPECTED.
refused() {
    local name=$1 line=$2 expected=$3 content=$4 rc=0
    # shellcheck disable=SC2059  # the content is a printf format on purpose (\t, \xef)
    printf "$content" >"$TMP/$name.conf"
    timeout 10 "$CLI" server --config "$TMP/$name.conf" --host 127.0.0.1 </dev/null >"$TMP/$name.out" 2>&1 || rc=$?
    local first
    first=$(head -1 "$TMP/$name.out")
    # One line: the usage is for mistakes on the command line, and would bury the file's line in a service's journal.
    if [ "$rc" = 1 ] && [[ "$first" == "casty-cli: server: $TMP/$name.conf${line:+:$line}: "*"$expected"* ]] && [ "$(wc -l <"$TMP/$name.out")" = 1 ]; then
        pass "$name: status 1, one line: ${first#casty-cli: server: "$TMP"/}"
    else
        fail "$name: status $rc (expected 1), first line '$first' of $(wc -l <"$TMP/$name.out") (expected one, $name.conf${line:+:$line}: …$expected…)"
    fi
}

head='port 0\nsource-password hackme\n'
refused unknown 3 "unknown option 'bogus'" "${head}bogus 1\n"
# Mounts separated by a blank instead of a comma are told to take commas; a list of commas only names no mount.
refused mounts-blank 3 "--mounts '/a /b': a mount name holds no blank: separate mounts with commas (/a,/b)" "${head}mounts /a /b\n"
refused mounts-commas 3 "--mounts ',' names no mount: give /a,/b" "${head}mounts ,\n"
# A ';' before a '/' is a list's too (not one mount no source publishes); a blank before a word without its '/' may
# be one name meant: both ways out are said, each a valid list.
refused mounts-semicolon 3 "--mounts '/live;/backup': a ';' does not separate mounts: separate them with commas (/live,/backup)" \
    "${head}mounts /live;/backup\n"
refused mounts-blank-name 3 "--mounts '/my show': a mount name holds no blank: name it without one (/my-show), or separate mounts with commas (/my,/show)" \
    "${head}mounts /my show,/b\n"
# A file saved as UTF-16 (Windows Notepad's "Unicode"), or in another encoding than UTF-8, is named as such.
refused utf16 "" "the file is UTF-16 text (Windows Notepad's \"Unicode\"): save it as UTF-8" '\xff\xfep\x00o\x00r\x00t\x00 \x000\x00\n\x00'
refused latin1 "" "the file is not UTF-8 text: save it as UTF-8" "${head}title Caf\xe9\n"
# A line copied from a command line says how a file writes it (a secret's value not repeated).
refused dashes 3 "unknown option '--port' (in a file, an option is written without its dashes: 'port 8000')" \
    "source-password hackme\nmounts /live\n--port 8000\n"
refused dashes-secret 3 "unknown option '--admin-password' (in a file, an option is written without its dashes: 'admin-password …')" \
    "${head}--admin-password Hunter2\n"
refused flag-value 3 "accept-all takes no value, not 'yes'" "${head}accept-all yes\n"
refused no-value 1 "port needs a value" 'port\nsource-password hackme\nmounts /live\n'
refused bad-port 3 "--port must be a whole number" "source-password hackme\nmounts /live\nport abc\n"
refused bad-mount 3 "'backup' is not a mount name" "${head}mounts /live,backup\n"
refused bad-fallback 4 "--fallback takes /mount=value, not '/live'" "${head}mounts /live\nfallback /live\n"
refused fallback-unlisted 4 "--fallback /live=/zz: /zz is not a mount of this server (--mounts /live)" "${head}mounts /live\nfallback /live=/zz\n"
refused record-no-hls 4 "--record cuts its files" "${head}mounts /live\nrecord /live\nno-hls\n"
refused bad-timeout 5 "--source-timeout must be a whole number" "${head}# a comment\n\nsource-timeout 0\n"
refused public-url-no-scheme 3 "--public-url takes http://host[:port][/path] or https://host[:port][/path], not 'radio.example:8000'" \
    "${head}public-url radio.example:8000\n"
refused twice 4 "--mounts is given twice in this file, on lines 3 and 4 ('/live', then '/jazz'): give it once" "${head}mounts /live\nmounts /jazz\n"
refused record-unlisted 4 "--record /Live: /Live is not a mount of this server (--mounts /live)" "${head}mounts /live\nrecord /Live\n"
refused crlf 3 "--port must be a whole number from 0 to 65535, not 'abc'" "source-password hackme\r\nmounts /live\r\nport abc\r\n"
refused secret-twice 4 "--admin-password is given twice in this file, on lines 3 and 4: give it once" "${head}admin-password Secret1\nadmin-password Secret2\n"
refused secret-form 3 "--mount-password takes /mount=value, not (a value not shown: it is a secret)" "${head}mount-password hunter2\n"
refused spool-nowhere 3 "--event-spool /nonexistent-casty/spool: cannot write in /nonexistent-casty" \
    "${head}event-spool /nonexistent-casty/spool\n"
refused hls-dir-nowhere 3 "--hls-dir /proc/casty-nowhere/hls: cannot make /proc/casty-nowhere" "${head}hls-dir /proc/casty-nowhere/hls\n"
refused fallback-circle 4 "--fallback /a=/b: fallbacks go round in a circle: /a → /b → /a" "${head}mounts /a,/b\nfallback /a=/b\nfallback /b=/a\n"
# The circle alone is named, and one of its lines: not /a, which only leads into it (nor its line, the last).
refused fallback-into-circle 4 "--fallback /b=/c: fallbacks go round in a circle: /b → /c → /b" \
    "${head}mounts /a,/b,/c\nfallback /b=/c\nfallback /c=/b\nfallback /a=/b\n"
refused short-passphrase 5 "--srt-passphrase /a=…: the SRT passphrase of /a has 5 characters" \
    "${head}mounts /a\nsrt-port 0\nsrt-passphrase /a=short\n"
refused file-missing 4 "--file: cannot open /nonexistent-casty.mp3" "${head}station /live\nfile /nonexistent-casty.mp3\n"
refused file-not-mp3 4 "--file $TMP/file-missing.conf: no MPEG audio frames found" "${head}station /live\nfile $TMP/file-missing.conf\n"
refused empty-quotes 3 "admin-password needs a value" "${head}admin-password \"\"\n"
refused open-quote 3 "title: a value that opens a double quote closes it at the line's end" "${head}title \"Jazz\n"
refused mount-open-quote 4 "mount-password: a value that opens a double quote closes it at the line's end" \
    "${head}mounts /a\nmount-password /a=\"s p\n"
refused mount-password-twice 5 "--mount-password /a=… is given twice in this file, on lines 4 and 5: give it once" \
    "${head}mounts /a\nmount-password /a=One1\nmount-password /a=Two2\n"
refused fallback-twice 5 "--fallback /a=… is given twice in this file, on lines 4 and 5 ('/b', then '/c'): give it once" \
    "${head}mounts /a,/b,/c\nfallback /a=/b\nfallback /a = /c\n"
refused mount-password-empty 4 "--mount-password '/a=': needs a value, not an empty one" "${head}mounts /a,/b\nmount-password /a=\n"
refused mount-user-empty 4 "--mount-user '/b=': needs a value, not an empty one" "${head}mounts /a,/b\nmount-user /b=\n"
refused mount-user-colon 4 "--mount-user '/c=dj:x': a user name cannot hold ':'" "${head}mounts /c\nmount-user /c=dj:x\n"
refused limit-negative 4 "--mount-max-listeners /a=N: N must be a positive whole number, not '-1'" "${head}mounts /a\nmount-max-listeners /a=-1\n"
# Icecast's icecast.xml given as it is: told that Casty reads no XML, and where its own format is.
refused icecast-xml "" "the file looks like Icecast's XML configuration (icecast.xml), which Casty does not read: a Casty config file has one option per line" \
    '<icecast>\n    <limits>\n        <clients>100</clients>\n    </limits>\n</icecast>\n'
refused icecast-xml-declared "" "the file looks like Icecast's XML configuration (icecast.xml), which Casty does not read" \
    '<?xml version="1.0"?>\n<icecast>\n</icecast>\n'
refused limit-unlisted 4 "--mount-max-listeners /x=…: /x is not a mount of this server (--mounts /live)" "${head}mounts /live\nmount-max-listeners /x=5\n"
refused srt-unlisted 5 "--srt-passphrase /nope=…: /nope is not a mount of this server (--mounts /live)" \
    "${head}mounts /live\nsrt-port 0\nsrt-passphrase /nope=0123456789\n"
# Of an option given on several lines, the faulty line is named — not the option's last, which is right.
refused fallback-unlisted-first 4 "--fallback /a=/typo: /typo is not a mount of this server (--mounts /a,/b,/c)" \
    "${head}mounts /a,/b,/c\nfallback /a=/typo\nfallback /b=/c\n"
refused mount-password-unlisted-first 4 "--mount-password /zz=…: /zz is not a mount of this server (--mounts /a)" \
    "${head}mounts /a\nmount-password /zz=Secret1\nmount-password /a=Secret2\n"
refused limit-unlisted-first 4 "--mount-max-listeners /x=…: /x is not a mount" "${head}mounts /a\nmount-max-listeners /x=5\nmount-max-listeners /a=5\n"
refused limit-bad-first 4 "--mount-max-listeners /a=N: N must be a positive whole number, not 'many'" \
    "${head}mounts /a,/b\nmount-max-listeners /a=many\nmount-max-listeners /b=5\n"
refused record-unlisted-first 5 "--record /Zz: /Zz is not a mount" "${head}mounts /a\nrecord-dir $TMP/rec\nrecord Zz\nrecord /a\n"
refused srt-unlisted-first 5 "--srt-passphrase /nope=…: /nope is not a mount" \
    "${head}mounts /live\nsrt-port 0\nsrt-passphrase /nope=0123456789\nsrt-passphrase /live=0123456789\n"
refused relay-bad-first 4 "--relay /r=…: not an http(s)://host:port/path URL" "${head}mounts /a\nrelay /r=nowhere\nrelay /s=http://127.0.0.1:9/\n"
# A relay of the server itself (its port, its address as written): refused before the port is bound, so any number does.
refused relay-itself 4 "--relay /r=http://127.0.0.1:8000/a: that is this server itself (it listens on 127.0.0.1:8000)" \
    "port 8000\nsource-password hackme\nmounts /a\nrelay /r=http://127.0.0.1:8000/a\n"
# A chain of fallbacks written as a list, and a line written `name=value`, `name: value` or `name = value`, as other
# formats write them, are told how a file writes them (a secret's value not repeated).
refused fallback-list 4 "--fallback /a=/b,/c: a mount has one fallback: give a chain as one --fallback each (--fallback /a=/b, then --fallback /b=/c)" \
    "${head}mounts /a,/b,/c\nfallback /a=/b,/c\n"
refused name-equals 1 "unknown option 'port=…' (in a file, an option and its value are separated by a blank, without '=': 'port 21010')" \
    'port=21010\nsource-password hackme\nmounts /live\n'
refused name-colon 3 "unknown option 'port:' (in a file, an option and its value are separated by a blank, without ':': 'port 21010')" \
    'source-password hackme\nmounts /live\nport: 21010\n'
refused name-equals-secret 3 "unknown option 'admin-password=…' (in a file, an option and its value are separated by a blank, without '=': 'admin-password …')" \
    "${head}admin-password=Hunter3\n"
check "name-equals-secret: the password is not in what the server printed" bash -c "! grep -q Hunter3 '$TMP/name-equals-secret.out'"
refused name-blank-equals 3 "'admin-password = …': in a file, an option and its value are separated by a blank, without '=': 'admin-password …'" \
    "${head}admin-password = Hunter2\n"

# On the command line, an empty value is a value forgotten (`--source-password "$UNSET"`), as in a file.
empty_value() {
    local rc=0
    timeout 10 "$CLI" server --port 0 --source-password "" --mounts /a </dev/null >"$TMP/empty.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && head -1 "$TMP/empty.out" | grep -qF -- "option --source-password needs a value, not an empty one"
}
check "--source-password \"\": status 1, 'needs a value, not an empty one'" empty_value

# One mount's value forgotten is the same mistake — not a mount that silently takes the common password, nor one
# no source could ever publish (with no common password, the check of that was skipped) —; one line, status 1.
empty_mount_value() {
    local option=$1 given=$2 expected=$3 rc=0
    timeout 10 "$CLI" server --port 0 --host 127.0.0.1 --mounts /a $option "$given" </dev/null >"$TMP/empty-mount.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && head -1 "$TMP/empty-mount.out" | grep -qF -- "$expected"
}
check "--mount-password \"/a=\" without --source-password: status 1, 'needs a value, not an empty one'" \
    empty_mount_value --mount-password "/a=" "--mount-password '/a=': needs a value, not an empty one"
check "--mount-user \"/a=\": status 1, 'needs a value, not an empty one'" \
    empty_mount_value --mount-user "/a=" "--mount-user '/a=': needs a value, not an empty one"
check "--mount-user /a=dj:x: status 1, a user name cannot hold ':'" \
    empty_mount_value --mount-user "/a=dj:x" "--mount-user '/a=dj:x': a user name cannot hold ':'"

# A mistake in an environment variable names the variable, and an empty variable counts as not set.
environment() {
    local rc=0
    COMMANDS_API_AUTH=bogus timeout 10 "$CLI" server --port 0 --source-password x --mounts /a </dev/null >"$TMP/env.out" 2>&1 || rc=$?
    # One line: the usage lists options the command line got right, and would bury the variable's name.
    [ "$rc" = 1 ] && head -1 "$TMP/env.out" | grep -qF -- "COMMANDS_API_AUTH (from the environment) takes basic:USER:PASSWORD" \
        && [ "$(wc -l <"$TMP/env.out")" = 1 ] || return 1
    rc=0
    COMMANDS_API_AUTH= timeout 3 "$CLI" server --port 0 --host 127.0.0.1 --source-password x --mounts /a </dev/null >"$TMP/env-empty.out" 2>&1 || rc=$?
    [ "$rc" = 124 ] && grep -q "listening on" "$TMP/env-empty.out"
}
check "COMMANDS_API_AUTH=bogus: status 1, one line naming the variable; COMMANDS_API_AUTH= (empty): not set, the server starts" environment

# A variable that shapes a call the node does not make (its URL is not set: misspelt, say) is warned of; the start
# line says what of the control plane is on, the URL's query (a token) not shown.
lonely_variable() {
    EVENT_SPOOL="$TMP/spool" KEY_VERIFICATION_URL='http://127.0.0.1:9/verify?token=T0ken' timeout 3 "$CLI" server --port 0 \
        --host 127.0.0.1 --accept-all </dev/null >"$TMP/lonely.out" 2>&1
    grep -qF "warning: EVENT_SPOOL is set but not EVENT_CALLBACK_URL: it is not used" "$TMP/lonely.out" &&
        grep -qF "control plane: keys verified by http://127.0.0.1:9/verify?…" "$TMP/lonely.out" && ! grep -q T0ken "$TMP/lonely.out"
}
check "EVENT_SPOOL without EVENT_CALLBACK_URL: warned of; the control plane's start line, its token hidden" lonely_variable

# On the command line too, a flag takes no value: --accept-all=no must not accept all.
inline_flag() {
    local rc=0
    timeout 10 "$CLI" server --port 0 --source-password x --accept-all=no </dev/null >"$TMP/inline.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && head -1 "$TMP/inline.out" | grep -qF -- "--accept-all takes no value, not 'no'"
}
check "--accept-all=no: status 1, '--accept-all takes no value, not 'no''" inline_flag

# Secrets given twice on the command line are named, never quoted.
secret_twice() {
    local rc=0
    timeout 10 "$CLI" server --port 0 --source-password TopSecret1 --source-password TopSecret2 </dev/null >"$TMP/twice.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -qF -- "--source-password is given twice on the command line: give it once" "$TMP/twice.out" && ! grep -q TopSecret "$TMP/twice.out"
}
check "--source-password twice: status 1, the values not shown" secret_twice

# One mount's value given twice on the command line is a mistake too, said to be the command line's (a fallback's values
# quoted, a password's not).
mount_twice_command_line() {
    local rc=0
    printf 'port 0\nhost 127.0.0.1\nsource-password x\nmounts /a,/b,/c\nfallback /a=/b\n' >"$TMP/cl-twice.conf"
    timeout 10 "$CLI" server --config "$TMP/cl-twice.conf" --fallback /a=/c --fallback /a=/b --mount-password /a=TopSecret1 \
        --mount-password /b=x --mount-password /a=TopSecret2 </dev/null >"$TMP/cl-twice.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && head -1 "$TMP/cl-twice.out" | grep -qF -- "--fallback /a=… is given twice on the command line ('/c', then '/b'): give it once" \
        || return 1
    rc=0
    timeout 10 "$CLI" server --config "$TMP/cl-twice.conf" --mount-password /a=TopSecret1 --mount-password /a=TopSecret2 \
        </dev/null >"$TMP/cl-twice.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && head -1 "$TMP/cl-twice.out" | grep -qF -- "--mount-password /a=… is given twice on the command line: give it once" \
        && ! grep -q TopSecret "$TMP/cl-twice.out"
}
check "--fallback /a=… or --mount-password /a=… twice on the command line: status 1, 'given twice on the command line'" mount_twice_command_line

# A server whose every mount it feeds itself (relays) takes no source: it needs no source password.
relay_only() {
    local rc=0
    timeout 3 "$CLI" server --port 0 --host 127.0.0.1 --relay /r1=http://127.0.0.1:9/x --relay /r2=http://127.0.0.1:9/y \
        </dev/null >"$TMP/relay-only.out" 2>&1 || rc=$?
    [ "$rc" = 124 ] && grep -q "listening on 127.0.0.1:.*; mounts /r1, /r2" "$TMP/relay-only.out"
}
check "a server of relays only starts without --source-password" relay_only

directory() {
    local rc=0
    timeout 10 "$CLI" server --config "$TMP" </dev/null >"$TMP/directory.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && head -1 "$TMP/directory.out" | grep -qF -- "--config: cannot read $TMP: Is a directory"
}
check "--config naming a directory: status 1, '--config: cannot read …: Is a directory' (it read as an empty file)" directory

# An empty --config is a value forgotten (`--config "$UNSET"`), as for every other option — not a file named ''.
empty_config() {
    local rc=0
    timeout 10 "$CLI" server --config "" </dev/null >"$TMP/empty-config.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && head -1 "$TMP/empty-config.out" | grep -qF -- "option --config needs a value, not an empty one"
}
check "--config \"\": status 1, 'option --config needs a value, not an empty one'" empty_config

port=$(free_port)
printf '\xef\xbb\xbf# a station of many mounts\nport\t1\nsource-password hackme\nadmin-password --se#cret  # a comment after the value\n' >"$TMP/station.conf"
printf 'mounts /live, /backup,/aac,\t/aacbackup,/ez,/liq,/liqsrc,/rec,/músic\nfallback /live=/backup\n' >>"$TMP/station.conf"
printf 'fallback /aac = /aacbackup\nstation /backup\nmount-max-listeners /live=500\n  no-hls  \nstatus-every 1\n' >>"$TMP/station.conf"
"$CLI" server --config "$TMP/station.conf" --port "$port" --host 127.0.0.1 --loops 0 </dev/null >"$TMP/station.log" 2>&1 &
pids+=("$!")
up() { curl -s -o "$TMP/status.json" --max-time 2 "http://127.0.0.1:$port/status.json"; }
check "the server of the config file listens on the command line's port $port" wait_until 15 up
mounts=$(python3 -c "import json,sys; print(','.join(s['mount'] for s in json.load(open(sys.argv[1]))['icestats']['source']))" "$TMP/status.json" 2>/dev/null || true)
listed() { [ "$mounts" = "/aac,/aacbackup,/backup,/ez,/liq,/liqsrc,/live,/músic,/rec" ]; }
check "/status.json lists the file's nine mounts, blanks after commas left out ($mounts)" listed
admin() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -u 'admin:--se#cret' "http://127.0.0.1:$port/admin/listmounts")" = 200 ]; }
check "the admin password from the file, --se#cret, is taken as a value, without the comment after it" admin
status_line() { log_has "$TMP/station.log" "status: 1 of 9 mounts live, 0 listeners, "; }
check "status-every 1: a status line within 5 s (1 of 9 mounts live: the station)" wait_until 5 status_line
fallbacks() { log_has "$TMP/station.log" "fallbacks /aac→/aacbackup, /live→/backup$"; }
check "blanks around a fallback's = are no part of its mounts (fallback /aac = /aacbackup)" fallbacks

# Two files: both are read, the later winning (the second names the port and the mounts, the first the password).
# The source password's line deleted: the mistake is the file's, no mount-password line's.
refused no-source-password "" "no source could publish /a, /e: give --source-password" \
    'port 0\nmounts /a,/c,/d,/e\nmount-password /c=One1\nmount-password /d=Two2\n'
# With no password line left at all, no option the mistake names was given: the file is named all the same.
refused no-password-at-all "" "no source could publish /a, /b: give --source-password" 'port 0\nmounts /a,/b\nstation /s\n'
refused no-password-nothing-fed "" "give --source-password (or --mount-password /m=PW for each mount)" 'port 0\nmounts /a,/b\n'
second=$(free_port)
printf 'source-password hackme\nmounts /one\nport 1\nadmin-password "two words #1"  # quoted: blanks and # kept\n' >"$TMP/first.conf"
printf 'mounts /two,/three\nport %s\nno-hls\n' "$second" >"$TMP/second.conf"
"$CLI" server --config "$TMP/first.conf" --config "$TMP/second.conf" --host 127.0.0.1 --loops 0 </dev/null >"$TMP/two.log" 2>&1 &
pids+=("$!")
two_up() { log_has "$TMP/two.log" "listening on 127\.0\.0\.1:$second; mounts /three, /two$"; }
check "--config twice: both files are read, the later one winning (port $second, mounts /three, /two)" wait_until 15 two_up
# One mount's value (--fallback, --mount-password, --mount-user, …) follows the same rule as an option of one value: the
# command line's over a file's, a later file's over an earlier one's — each mount's alone; the file's other mounts stay.
permount=$(free_port)
printf 'port %s\nhost 127.0.0.1\nsource-password hackme\nmounts /a,/b,/c,/d\nno-hls\nfallback /a=/b\nfallback /c=/b\n' "$permount" >"$TMP/permount.conf"
printf 'mount-password /a=One1\nmount-password /d=Four4\n' >>"$TMP/permount.conf"
printf 'fallback /c=/d\nmount-password /d=Five5\n' >"$TMP/permount-later.conf"
"$CLI" server --config "$TMP/permount.conf" --config "$TMP/permount-later.conf" --fallback /a=/c --mount-password /a=Two2 \
    </dev/null >"$TMP/permount.log" 2>&1 &
pids+=("$!")
printf 'no audio' >"$TMP/permount-body"
put() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -u "source:$2" -H 'Content-Type: audio/mpeg' -T "$TMP/permount-body" "http://127.0.0.1:$permount$1"; }
permount_up() { log_has "$TMP/permount.log" "listening on 127\.0\.0\.1:$permount; mounts /a, /b, /c, /d; fallbacks /a→/c, /c→/d(;|$)"; }
check "--fallback /a=/c over the file's /a=/b, a later file's /c=/d over the first's /c=/b: not 'given twice'" wait_until 15 permount_up
permount_passwords() {
    [ "$(put /a One1)" = 401 ] && [ "$(put /a Two2)" = 200 ] && [ "$(put /d Four4)" = 401 ] && [ "$(put /d Five5)" = 200 ] \
        && [ "$(put /b hackme)" = 200 ]
}
check "--mount-password /a=… over the file's, a later file's /d over the first's, the other mounts as the file has them" permount_passwords

# A '#' after a blank starts a comment, cutting a value short: one right before a word (`my #1 pass`), which the value
# was likely meant to hold, is warned of, naming the line and saying to quote the value (a secret's never shown); a
# comment written `# …` is not, nor a `#` in quotes.
cut_warned() {
    printf 'port 0\nhost 127.0.0.1\nsource-password Hunter #1 pass\nmounts /a,/b\ntitle Jazz #1 Hits\nstation /b\n' >"$TMP/cut.conf"
    printf 'admin-password adm  # the admin password\nmount-password /a=Swordfish #2\nname "Radio #1"  #tag\n' >>"$TMP/cut.conf"
    timeout 3 "$CLI" server --config "$TMP/cut.conf" </dev/null >"$TMP/cut.out" 2>&1 || true
    grep -qF "warning: $TMP/cut.conf:3: a '#' after a blank starts a comment: source-password's value ends before it (not shown: a secret); to keep the '#', write the value in double quotes (source-password \"…\")" "$TMP/cut.out" \
        && grep -qF "warning: $TMP/cut.conf:5: a '#' after a blank starts a comment: title's value is 'Jazz'; to keep the '#', write the value in double quotes (title \"Jazz #1 Hits\")" "$TMP/cut.out" \
        && grep -qF "warning: $TMP/cut.conf:8: a '#' after a blank starts a comment: mount-password's value ends before it (not shown: a secret); to keep the '#', write the value in double quotes (mount-password /a=\"…\")" "$TMP/cut.out" \
        && [ "$(grep -c "starts a comment" "$TMP/cut.out")" = 3 ] && grep -q "listening on" "$TMP/cut.out" \
        && ! grep -qE "Hunter|Swordfish|pass\b" "$TMP/cut.out"
}
check "a value cut short by ' #1': one warning line each naming its line, saying to quote it, no secret shown" cut_warned

# One file given twice (`once.conf`, `./once.conf`, `once.conf` again) is read once: not each of its lines "given twice".
once() {
    printf 'host 127.0.0.1\nport 0\nsource-password a\nmounts /live\n' >"$TMP/once.conf"
    (cd "$TMP" && timeout 3 "$CLI" server --config once.conf --config ./once.conf --config once.conf </dev/null >"$TMP/once.out" 2>&1) || true
    grep -q "listening on 127\.0\.0\.1:[0-9]*; mounts /live" "$TMP/once.out" && ! grep -q "given twice" "$TMP/once.out"
}
check "one --config file given three times (twice under one path): read once, the server starts" once
quoted() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -u 'admin:two words #1' "http://127.0.0.1:$second/admin/listmounts")" = 200 ]; }
check "a value in double quotes is what stands between them: the admin password 'two words #1'" quoted

# One mount's value in double quotes is read as a whole one's (`mount-password /dj="s p #1"` is the password
# `s p #1`), for every option of one value per mount: blanks and ` #` kept, the quotes no part of it.
fourth=$(free_port)
printf 'port %s\nhost 127.0.0.1\nsource-password hackme\nmounts /dj,/backup\nno-hls\nmount-password /dj="s p #1"  # quoted\n' "$fourth" >"$TMP/quoted.conf"
printf 'mount-user /dj = "d j"\nfallback /dj="/backup"\n' >>"$TMP/quoted.conf"
"$CLI" server --config "$TMP/quoted.conf" </dev/null >"$TMP/quoted.log" 2>&1 &
pids+=("$!")
printf 'no audio' >"$TMP/body"
publish() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -u "$1" -H 'Content-Type: audio/mpeg' -T "$TMP/body" "http://127.0.0.1:$fourth/dj"; }
quoted_up() { log_has "$TMP/quoted.log" "listening on 127\.0\.0\.1:$fourth; mounts /backup, /dj; fallbacks /dj→/backup(;|$)"; }
check "fallback /dj=\"/backup\": the fallback /backup, without its quotes" wait_until 15 quoted_up
quoted_mount() { [ "$(publish 'd j:"s p #1"')" = 401 ] && [ "$(publish '"d j":s p #1')" = 401 ] && [ "$(publish 'd j:s p #1')" = 200 ]; }
check "mount-password /dj=\"s p #1\" and mount-user /dj = \"d j\": a source logs in as 'd j' with 's p #1', not with the quotes" quoted_mount

# SIGHUP reads the file again, as Icecast does: new passwords and mounts at once; a broken file changes nothing.
third=$(free_port)
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw1\nadmin-password adminone\nmounts /live\n' "$third" >"$TMP/reload.conf"
"$CLI" server --config "$TMP/reload.conf" </dev/null >"$TMP/reload.log" 2>&1 &
reloading=$!
pids+=("$reloading")
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 -u "$1" "http://127.0.0.1:$third/admin/whitelist"; }
reload_up() { [ "$(code admin:adminone)" = 200 ]; }
check "the server to reload listens" wait_until 15 reload_up
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password admintwo\nmounts /live,/two\nstatus-every 5\n' "$third" >"$TMP/reload.conf"
kill -HUP "$reloading"
reloaded() {
    log_has "$TMP/reload.log" "SIGHUP: options read again: mounts \+/two; source password changed; admin password changed; --status-every changed too: taken at a restart" \
        && [ "$(code admin:adminone)" = 401 ] && [ "$(code admin:admintwo)" = 200 ] \
        && curl -s --max-time 2 -u admin:admintwo "http://127.0.0.1:$third/admin/whitelist" | grep -qF '["/live","/two"]' \
        && ! grep -qE "srcpw1|srcpw2|adminone|admintwo" "$TMP/reload.log"
}
check "SIGHUP: the new admin password and whitelist at once, one line saying what changed (no password shown), the rest for a restart" wait_until 10 reloaded
printf 'port %s\nmounts /live,/three\nbogus 1\n' "$third" >"$TMP/reload.conf"
kill -HUP "$reloading"
broken() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: .*reload.conf:3: unknown option 'bogus'" \
        && kill -0 "$reloading" && [ "$(code admin:admintwo)" = 200 ]
}
check "SIGHUP with a broken file: one line naming its line, the server runs on with its rules" wait_until 10 broken
printf 'port %s\nhost 127.0.0.1\nadmin-password admintwo\nmounts /live,/two\nmount-password /two=pw2\n' "$third" >"$TMP/reload.conf"
kill -HUP "$reloading"
whole() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: .*reload\.conf: no source could publish /live: give" \
        && [ "$(code admin:admintwo)" = 200 ]
}
check "SIGHUP with the source password's line deleted: the file named without a line (no mount-password line is wrong)" wait_until 10 whole
printf 'port %s\nhost 127.0.0.1\nadmin-password admintwo\nmounts /live,/two\n' "$third" >"$TMP/reload.conf"
kill -HUP "$reloading"
whole_bare() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: .*reload\.conf: give --source-password \(or" \
        && [ "$(code admin:admintwo)" = 200 ]
}
check "SIGHUP with no password line left at all: the file named all the same (no option the mistake names was given)" wait_until 10 whole_bare
: >"$TMP/reload.conf"
kill -HUP "$reloading"
emptied() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: --config .*reload.conf holds no option now" \
        && [ "$(code admin:admintwo)" = 200 ]
}
check "SIGHUP with an emptied file (caught while written): refused, not read as 'no passwords, no mounts'" wait_until 10 emptied
# A FIFO put in the file's place is refused, not waited on: that reading, and every later one, would block behind it.
rm -f "$TMP/reload.conf" && mkfifo "$TMP/reload.conf"
kill -HUP "$reloading"
fifo() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: --config .*reload.conf is no regular file now" \
        && [ "$(code admin:admintwo)" = 200 ]
}
check "SIGHUP with a FIFO in the file's place: refused in one line, not waited on" wait_until 10 fifo
rm -f "$TMP/reload.conf"
# A fallback to the mount of a --relay the reading adds: that mount comes with the restart that takes the relay.
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password admintwo\nmounts /live,/two\nrelay /r2=http://127.0.0.1:9/\nfallback /two=/r2\n' \
    "$third" >"$TMP/reload.conf"
kill -HUP "$reloading"
new_relay() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: .*reload\.conf:7: --fallback /two=/r2: /r2 is not a mount of this server .* until a restart takes --relay as this reading gives it: restart to take them together" \
        && [ "$(code admin:admintwo)" = 200 ]
}
check "SIGHUP adding a --relay and a fallback to its mount: said to wait for the restart that takes the relay, not a mount that does not exist" wait_until 10 new_relay
# A burst of SIGHUPs, each after a rewrite: the last file is what holds, not an older reading that finished later.
for i in $(seq 1 20); do
    printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password burst%s\nmounts /live,/two\n' "$third" "$i" >"$TMP/reload.conf"
    kill -HUP "$reloading"
done
burst() { [ "$(code admin:burst20)" = 200 ] && [ "$(code admin:burst19)" = 401 ]; }
check "twenty SIGHUPs in a row: the last file's admin password holds" wait_until 10 burst
# An option taken only at a restart is checked as the restart checks it: refused now, not said to be taken then.
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password later\nmounts /live,/two\nrecord /typo\n' "$third" >"$TMP/reload.conf"
kill -HUP "$reloading"
restart_refuses() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: .*reload\.conf:6: --record /typo: /typo is not a mount of this server" \
        && [ "$(code admin:burst20)" = 200 ]
}
check "SIGHUP with a mistake in an option taken at a restart (record /typo): refused as that restart would refuse it" wait_until 10 restart_refuses
# Checking makes nothing: a new --record-dir or --hls-dir is made by the restart that takes it, not by the SIGHUP
# that reads it; one that could not be made is refused, and made no more.
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password later\nmounts /live,/two\nrecord /live\nrecord-dir %s\nhls-dir %s\n' \
    "$third" "$TMP/later/recordings" "$TMP/later-hls/live" >"$TMP/reload.conf"
kill -HUP "$reloading"
nothing_made() {
    log_has "$TMP/reload.log" "SIGHUP: options read again: admin password changed; --hls-dir, --record, --record-dir changed too: taken at a restart" \
        && [ "$(code admin:later)" = 200 ] && [ ! -e "$TMP/later" ] && [ ! -e "$TMP/later-hls" ]
}
check "SIGHUP with a new --record-dir and --hls-dir: taken at a restart, and neither made now (a check changes no disk)" wait_until 10 nothing_made
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password unmade\nmounts /live,/two\nrecord /live\nrecord-dir %s\n' \
    "$third" "$TMP/reload.log/recordings/deep" >"$TMP/reload.conf"
kill -HUP "$reloading"
cannot_make() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: .*reload\.conf:7: --record-dir .*: cannot make .*/reload\.log/recordings: Not a directory" \
        && [ "$(code admin:later)" = 200 ]
}
check "SIGHUP with a --record-dir that cannot be made: refused in one line naming its line, nothing made" wait_until 10 cannot_make
# As root, `access` says /proc may be written in: the check tries to make a directory there, as the start does.
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password unmade\nmounts /live,/two\nhls-dir /proc/casty-nowhere/hls\n' \
    "$third" >"$TMP/reload.conf"
kill -HUP "$reloading"
proc_refused() {
    log_has "$TMP/reload.log" "SIGHUP: options not read again, the server runs on as it was: .*reload\.conf:6: --hls-dir /proc/casty-nowhere/hls: cannot make /proc/casty-nowhere" \
        && [ "$(code admin:later)" = 200 ]
}
check "SIGHUP with an --hls-dir under /proc: refused as the start refuses it (as root too), not said to be taken at a restart" wait_until 10 proc_refused
# An option taken at a restart is said by the reading that changed it, not by every one after that leaves it so; and a
# reading that changes such options alone says so, not "nothing to change" beside them.
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw2\nadmin-password later\nmounts /live,/two\nrecord /live\nrecord-dir %s\nhls-dir %s\n' \
    "$third" "$TMP/later/recordings" "$TMP/later-hls/live" >"$TMP/reload.conf"
kill -HUP "$reloading"
said_once() {
    log_has "$TMP/reload.log" "SIGHUP: options read again: nothing changed$" \
        && [ "$(grep -c 'taken at a restart' "$TMP/reload.log")" = 2 ]
}
check "SIGHUP with the file as last read: 'nothing changed', the options a restart takes not said again" wait_until 10 said_once
printf 'status-every 7\n' >>"$TMP/reload.conf"
kill -HUP "$reloading"
only_later() { log_has "$TMP/reload.log" "SIGHUP: options read again: only --status-every changed: taken at a restart$"; }
check "SIGHUP changing only an option a restart takes: said so, no 'nothing to change' beside it" wait_until 10 only_later
sed -i 's/^admin-password later$/admin-password later #x/' "$TMP/reload.conf"
kill -HUP "$reloading"
cut_on_reload() {
    log_has "$TMP/reload.log" "SIGHUP: warning: .*reload\.conf:4: a '#' after a blank starts a comment: admin-password's value ends before it \(not shown: a secret\)" \
        && [ "$(code admin:later)" = 200 ]
}
check "SIGHUP reading a value a ' #x' cuts short: the warning line, the value before it taken" wait_until 10 cut_on_reload

# A mount off the list may keep its fallback, as /admin/whitelist's remove leaves its listeners on it: at start, its
# listeners hear the fallback (a chain through another unlisted mount too), no source may publish it, and the start line
# says so; taken off the list by SIGHUP, its listeners stay on the fallback, connected, rather than the file refused.
unlisted=$(free_port)
printf 'port %s\nhost 127.0.0.1\nsource-password hackme\nmounts /backup\nfallback /live=/mid\nfallback /mid=/backup\nstation /backup\nno-hls\n' \
    "$unlisted" >"$TMP/unlisted.conf"
"$CLI" server --config "$TMP/unlisted.conf" </dev/null >"$TMP/unlisted.log" 2>&1 &
pids+=("$!")
unlisted_up() {
    log_has "$TMP/unlisted.log" "listening on 127\.0\.0\.1:$unlisted; mounts /backup; fallbacks /live→/mid \(/live not listed: no source publishes it\), /mid→/backup \(/mid not listed: no source publishes it\)"
}
check "fallback /live=/mid, /mid=/backup with only /backup listed: the server starts, its line saying /live and /mid are not listed" wait_until 15 unlisted_up
unlisted_heard() {
    [ "$(curl -s -o "$TMP/unlisted.mp3" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$unlisted/live")" = 200 ] && [ -s "$TMP/unlisted.mp3" ] \
        && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -u source:hackme -H 'Content-Type: audio/mpeg' -T "$TMP/body" "http://127.0.0.1:$unlisted/live")" = 403 ]
}
check "a listener of the unlisted /live hears its fallback; a source may not publish it (403)" unlisted_heard
takeoff=$(free_port)
printf 'port %s\nhost 127.0.0.1\nsource-password hackme\nmounts /live,/backup\nfallback /live=/backup\nstation /backup\nno-hls\n' \
    "$takeoff" >"$TMP/takeoff.conf"
"$CLI" server --config "$TMP/takeoff.conf" </dev/null >"$TMP/takeoff.log" 2>&1 &
takingoff=$!
pids+=("$takingoff")
takeoff_up() { log_has "$TMP/takeoff.log" "listening on 127\.0\.0\.1:$takeoff"; }
check "the server whose /live is to be taken off its list listens" wait_until 15 takeoff_up
curl -s -N --max-time 60 -o "$TMP/takeoff.mp3" "http://127.0.0.1:$takeoff/live" &
listening=$!
pids+=("$listening")
hearing() { [ -s "$TMP/takeoff.mp3" ]; }
check "a listener of /live hears its audio before /live is taken off the list" wait_until 10 hearing
sed -i 's#^mounts /live,/backup$#mounts /backup#' "$TMP/takeoff.conf"
kill -HUP "$takingoff"
taken_off() {
    log_has "$TMP/takeoff.log" "SIGHUP: options read again: mounts -/live$" && ! log_has "$TMP/takeoff.log" "options not read again"
}
check "SIGHUP with /live off the list and its fallback kept: read again (mounts -/live), not refused" wait_until 10 taken_off
stays() {
    local before after
    before=$(stat -c %s "$TMP/takeoff.mp3")
    sleep 2
    after=$(stat -c %s "$TMP/takeoff.mp3")
    kill -0 "$listening" && [ "$after" -gt "$before" ] && ! log_has "$TMP/takeoff.log" "left after"
}
check "/live's listener stays on its fallback, connected and hearing it, after the SIGHUP took /live off the list" stays

# A --config that never ends (/dev/zero given by mistake) is refused once past 1 MiB, not read until memory runs out.
endless() {
    local rc=0
    timeout 10 "$CLI" server --config /dev/zero --host 127.0.0.1 </dev/null >"$TMP/endless.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -qF "/dev/zero holds more than 1024 KiB, which no station's options need" "$TMP/endless.out"
}
check "--config /dev/zero: status 1, one line saying it holds more than 1 MiB" endless

# No mount listed and no admin password: said at start, not found out from refused sources — from a file, which a
# SIGHUP may read with mounts; on the command line nothing could ever add one: a usage mistake.
bare() {
    printf 'port 0\nhost 127.0.0.1\nsource-password x\n' >"$TMP/bare.conf"
    timeout 3 "$CLI" server --config "$TMP/bare.conf" </dev/null >"$TMP/bare.out" 2>&1 || true
    grep -qF "mounts none yet: every source is refused until /admin/whitelist adds one (give --mounts /m or --accept-all); admin API off (no --admin-password)" "$TMP/bare.out"
}
check "a server of a file with no mount and no admin password says so as it starts" bare
bare_line() {
    local status=0
    timeout 3 "$CLI" server --port 0 --host 127.0.0.1 --source-password x </dev/null >"$TMP/bare-line.out" 2>&1 || status=$?
    [ "$status" = 1 ] && grep -qF "no source could ever publish: no mount is listed, and without --admin-password" "$TMP/bare-line.out"
}
check "a server with no mount and no admin password on the command line is a usage mistake (status 1)" bare_line

# The application decides the keys: a source password a SIGHUP sets admits nobody, said then as at start.
verifying=$(free_port)
printf 'port %s\nhost 127.0.0.1\nmounts /live\nkey-verification-url http://127.0.0.1:9/verify\n' "$verifying" >"$TMP/keys.conf"
"$CLI" server --config "$TMP/keys.conf" </dev/null >"$TMP/keys.log" 2>&1 &
keyed=$!
pids+=("$keyed")
check "the server whose application verifies keys listens" wait_until 15 listening "$verifying"
printf 'source-password Hunter5\n' >>"$TMP/keys.conf"
kill -HUP "$keyed"
warned() {
    log_has "$TMP/keys.log" "SIGHUP: warning: the application \(key verification\) decides which keys publish: --source-password admits no source" \
        && ! grep -q Hunter5 "$TMP/keys.log"
}
check "SIGHUP setting a source password while the application verifies keys: warned, as at start (the password not shown)" wait_until 10 warned

if ((failures > 0)); then
    for log in "$TMP"/*.out "$TMP"/*.log; do echo "--- $log"; tail -5 "$log"; done
    exit 1
fi
