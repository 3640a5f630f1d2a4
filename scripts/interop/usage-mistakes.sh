#!/usr/bin/env bash
# usage-mistakes.sh — a usage mistake ends a command before it starts anything (README, "casty-cli": "one error
# line (a usage mistake also prints the usage) and status 1").
#
# Asserts: `--status-every 0` (and a bad `--port` after a built-in station, a bad `--tree-key-file`) given to
# proxy, station, demo, root and branch exits 1 with the error as the first line: no node started and logged
# first (they used to bind their port, log "listening on …" and start the station or attach to the upstream,
# then fail); an `--advertise` that is not host:port is such a mistake too (it was taken as it was, and the
# node's parent sent other branches to `http://no port here/`), and so is an application URL with a #fragment, a space or
# a character beyond ASCII, an option of one value given twice, an option
# of something not asked for (--file without --station, an application's credentials without its URL, --hls-dir,
# --hls-target or --hls-window with --no-hls, --record-dir, --record-every or --record-titles without --record), a regular file given as --hls-dir or --record-dir, an --hls-dir that is the --record-dir or lies in it (one
# inside --hls-dir starts), a --record of a mount a node of one stream does not
# have (it records its stream as /), a branch's
# --client-port that is its --port (a server's or a root's --rtmp-port too), a URL whose port is out of range, a mount named twice, a one-dash option, `help` of no command, no command at all,
# a station's or the demo's port in use, an --event-spool another
# server is using (named through a symlink too), an --event-spool that is another file (a config file, random bytes: left as they were); and the usage's first line at most follows the error. A root or branch that advertises 0.0.0.0 (the
# default --host, no --advertise) keeps running but warns that other machines cannot reach it, and not when
# --advertise or a --host of one address is given; a server whose keys the application verifies warns that the
# source passwords given too admit nobody; `--version` prints the release and exits 0. Exit 0 only if all passed. About 15 s; needs python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

CLI=${CASTY_CLI:-casty-cli}
TMP=$(mktemp -d /tmp/casty-usage-mistakes.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# refuses EXPECTED ARGS... — `casty-cli ARGS…` exits 1, its first line is the error naming EXPECTED, and at most
# the usage's first line follows (the whole usage would scroll the error off the screen).
refuses() {
    local expected=$1 rc=0
    shift
    timeout 10 "$CLI" "$@" </dev/null >"$TMP/out.log" 2>&1 || rc=$?
    if [ "$rc" = 1 ] && head -1 "$TMP/out.log" | grep -qF -- "$expected" && [ "$(wc -l <"$TMP/out.log")" -le 2 ]; then
        pass "$*: status 1, first line: $(head -1 "$TMP/out.log" | cut -c1-120)"
    else
        fail "$*: status $rc (expected 1, first line naming $expected): $(head -3 "$TMP/out.log" | tr '\n' ' ' | cut -c1-300)"
    fi
}
port=$(free_port)
: >"$TMP/empty-key"
refuses "--status-every must be" proxy http://127.0.0.1:9/ --port "$port" --status-every 0
refuses "--status-every must be" station --port "$port" --status-every 0
refuses "--port must be" station --port nowhere
refuses "--status-every must be" demo --port "$port" --status-every 0
refuses "--port must be" demo --port nowhere
refuses "--status-every must be" root --source http://127.0.0.1:9/ --host 127.0.0.1 --port "$port" --status-every 0
refuses "--status-every must be" root --station --host 127.0.0.1 --port "$port" --status-every 0
refuses "--port must be" root --station --port nowhere
refuses "--tree-key-file" root --station --host 127.0.0.1 --port "$port" --tree-key-file "$TMP/empty-key"
refuses "--tree-key-file: cannot open $TMP/no-such-key" root --station --host 127.0.0.1 --port "$port" --tree-key-file "$TMP/no-such-key"
refuses "--station: 'live' is not a mount name" server --host 127.0.0.1 --port "$port" --source-password x --mounts /live --station live
# An audio file of another kind is named, and what the station plays.
printf 'RIFF\x24\x00\x00\x00WAVEfmt ' >"$TMP/song.wav" && head -c 4000 /dev/zero >>"$TMP/song.wav"
refuses "it looks like WAV, and the station plays MP3 only" station --port "$port" --file "$TMP/song.wav"
refuses "--status-every must be" branch --root http://127.0.0.1:9/ --host 127.0.0.1 --port "$port" --status-every 0
# --advertise goes into the Location of the redirects that send other branches to the node: host:port only.
refuses "--advertise must be host:port" branch --root http://127.0.0.1:9/ --host 127.0.0.1 --port "$port" --advertise "no port here"
refuses "--advertise must be host:port" branch --root http://127.0.0.1:9/ --host 127.0.0.1 --port "$port" --advertise 10.0.0.2
refuses "--advertise must be host:port" root --source http://127.0.0.1:9/ --host 127.0.0.1 --port "$port" --advertise "a/b:80"
# An option of one value given twice is a mistake to point at, not a silent choice of the last.
refuses "--port is given twice on the command line ('$port', then '8000'): give it once" station --port "$port" --port 8000
refuses "--mounts names '/live' twice" server --port "$port" --source-password x --mounts /live,/jazz,/live
# ... and a URL given twice is shown without its password and query, which may hold a token.
refuses "--key-verification-url is given twice on the command line ('http://u:…@127.0.0.1:9/e?…', then 'http://u:…@127.0.0.1:9/f'): give it once" \
    server --port "$port" --accept-all --key-verification-url 'http://u:SecretPW@127.0.0.1:9/e?tok=SecretQ' \
    --key-verification-url 'http://u:OtherPW@127.0.0.1:9/f'
refuses "--srt-passphrase PW (every mount's without its own) is given twice on the command line: give it once" \
    server --port "$port" --mounts /a --source-password x --srt-port "$port" --srt-passphrase first-passphrase-A --srt-passphrase second-passphrase-B
for url in 'http://radio.example:8000?x=1' 'http://radio.example:8000#top' 'http://user:Secret@radio.example:8000' 'http://radio.example/a b'; do
    refuses "takes http://host[:port][/path] or https://host[:port][/path], not '" \
        server --port "$port" --accept-all --source-password x --public-url "$url" --commands-auth bearer:t
done
# An application's URL goes on the request line as it is written: a fragment, a space or a character beyond ASCII
# would be sent raw (a request line of four words), so each is refused at start — the fragment not shown, it may hold a token.
refuses "--event-callback-url: 'http://u:…@127.0.0.1:9/events#…' has a #fragment, which no request carries" \
    server --port "$port" --accept-all --source-password x --event-callback-url 'http://u:SecretPW@127.0.0.1:9/events#SecretF'
refuses "--key-verification-url: 'http://127.0.0.1:9/a b' has a space, a control character or a character beyond ASCII: write it %XX-encoded" \
    server --port "$port" --accept-all --key-verification-url 'http://127.0.0.1:9/a b'
refuses "--listener-auth-url: 'http://127.0.0.1:9/ü' has a space" \
    server --port "$port" --source-password x --mounts /live --listener-auth-url 'http://127.0.0.1:9/ü'
# An option whose value was forgotten (`--title $EMPTY --port 8000`) does not take the next option as its value.
refuses "option --title needs a value, not the option --port that follows it" station --title --port "$port"
refuses "option --title needs a value, not the option --no-hls that follows it" station --title --no-hls --port "$port"
# A URL whose one mistake is its port says so, not that it has the wrong shape.
refuses "its port 99999 is out of range (0 to 65535): http://127.0.0.1:99999/" proxy http://127.0.0.1:99999/ --port "$port"
# Casty's options have two dashes; a command that does not exist is no request for the overview.
refuses "unknown option -p (options take two dashes" server -p "$port" --source-password x --mounts /live
# One dash and an `=`: the option is named, never what follows the `=` (a password).
refuses "unknown option -admin-password=… (options take two dashes" server -admin-password=Hunter4 --mounts /live
check "-admin-password=…: the password is not in what casty-cli printed" bash -c "! grep -q Hunter4 '$TMP/out.log'"
refuses "unknown command 'bogus'" help bogus
# No command at all: the error, then the list of commands as its explanation.
rc=0
"$CLI" </dev/null >"$TMP/out.log" 2>&1 || rc=$?
check "no command: status 1, 'give a command' first, then the commands" \
    bash -c "[ $rc = 1 ] && head -1 '$TMP/out.log' | grep -qF 'give a command' && grep -q '^  proxy ' '$TMP/out.log'"
# Options that shape something not asked for are a forgotten option, not a choice.
refuses "--file is for the built-in station: give --station /m too" server --port "$port" --source-password x --mounts /a --file x.mp3
refuses "--source and --station are two roots' sources" root --source http://127.0.0.1:9/ --station --port "$port"
refuses "--title is for the built-in station (--station), not --source" root --source http://127.0.0.1:9/ --title X --port "$port"
refuses "--key-verification-auth needs --key-verification-url" server --port "$port" --accept-all --source-password x --key-verification-auth bearer:t
refuses "--event-spool needs --event-callback-url" server --port "$port" --accept-all --source-password x --event-spool /tmp/spool
refuses "--listener-auth-timeout needs --listener-auth-url" server --port "$port" --accept-all --source-password x --listener-auth-timeout 3
refuses "--event-callback-timeout needs --event-callback-url" server --port "$port" --accept-all --source-password x --event-callback-timeout 3
refuses "--event-callback-timeout must be 1 to 300 seconds, not '0'" server --port "$port" --accept-all --source-password x \
    --event-callback-url http://127.0.0.1:9/events --event-callback-timeout 0
refuses "--event-callback-timeout must be 1 to 300 seconds, not '2.5'" server --port "$port" --accept-all --source-password x \
    --event-callback-url http://127.0.0.1:9/events --event-callback-timeout 2.5
refuses "--mounts and --accept-all contradict each other" server --port "$port" --accept-all --mounts /a --source-password x
# A node of one stream records it as /: another name would record nothing, silently.
refuses "--record /live: this node serves one stream" proxy http://127.0.0.1:9/ --port "$port" --record /live --record-dir "$TMP/rec"
refuses "--record /live: this node serves one stream" root --source http://127.0.0.1:9/ --port "$port" --record /live --record-dir "$TMP/rec"
refuses "--hls-dir writes the live HLS: it does not go with --no-hls" station --port "$port" --hls-dir "$TMP/hls" --no-hls
# ... and so is every option that means something only with another: a recording's without --record (not a way to turn
# it on), the live HLS's under --no-hls — each named with the option it needs, on the command line as in a file.
refuses "--hls-target sets the live HLS segments' duration: it does not go with --no-hls" station --port "$port" --no-hls --hls-target 2
refuses "--hls-window sets the segments in a live HLS playlist: it does not go with --no-hls" proxy http://127.0.0.1:9/ --port "$port" --hls-window 9 --no-hls
refuses "--record cuts its files from the HLS segments: it does not go with --no-hls" station --port "$port" --record / --no-hls
refuses "--record-titles starts a new recording file at every title: it does nothing without --record" station --port "$port" --record-titles
refuses "--record-every says when a recording starts a new file: it does nothing without --record" station --port "$port" --record-every 20
refuses "--record-dir says where recordings go: it does nothing without --record" \
    server --port "$port" --source-password x --mounts /live --record-dir "$TMP/rec"
printf 'port %s\nsource-password x\nmounts /live\nrecord-titles\n' "$port" >"$TMP/titles.conf"
refuses "$TMP/titles.conf:4: --record-titles starts a new recording file at every title: it does nothing without --record" \
    server --config "$TMP/titles.conf"
# A regular file where a directory is asked for is said to be no directory (not `Permission denied`, as root saw it).
refuses "--hls-dir $TMP/empty-key: is not a directory" station --port "$port" --hls-dir "$TMP/empty-key"
refuses "--record-dir $TMP/empty-key: is not a directory" server --port "$port" --source-password x --mounts /live \
    --record /live --record-dir "$TMP/empty-key"
# The live HLS comes and goes (a restart deletes an earlier run's), recordings stay: one folder for both is refused,
# however it is spelled; the recordings' folder inside --hls-dir is fine (the live HLS's clean-up never goes into it).
refuses "--hls-dir $TMP/both/ is the recordings' folder (--record-dir $TMP/./both)" server --port "$port" --accept-all \
    --source-password x --record /live --hls-dir "$TMP/both/" --record-dir "$TMP/./both"
# Spelled with `..` while the folder does not exist yet, nor the one above it: refused as once they exist.
refuses "--hls-dir $TMP/fresh/hq is the recordings' folder (--record-dir $TMP/fresh/hq/../hq)" server --port "$port" \
    --accept-all --source-password x --record /live --hls-dir "$TMP/fresh/hq" --record-dir "$TMP/fresh/hq/../hq"
refuses "--hls-dir $TMP/fresh/a/../rec/hls lies in the recordings' folder (--record-dir $TMP/fresh/rec/.)" server \
    --port "$port" --accept-all --source-password x --record /live --hls-dir "$TMP/fresh/a/../rec/hls" --record-dir "$TMP/fresh/rec/."
refuses "--hls-dir $TMP/rec/hls lies in the recordings' folder (--record-dir $TMP/rec)" server --port "$port" --accept-all \
    --source-password x --record /live --hls-dir "$TMP/rec/hls" --record-dir "$TMP/rec"
refuses "--hls-dir $TMP/rec is the recordings' folder (--record-dir $TMP/rec)" station --port "$port" \
    --hls-dir "$TMP/rec" --record / --record-dir "$TMP/rec"
refuses "--client-port $port is --port too" branch --root http://127.0.0.1:9/ --host 127.0.0.1 --port "$port" --client-port "$port"
refuses "--rtmp-port $port is --port too: give RTMP publishers another port number" \
    server --host 127.0.0.1 --port "$port" --mounts /a --source-password x --rtmp-port "$port"
refuses "--rtmp (port 1935) is --port too" server --host 127.0.0.1 --port 1935 --mounts /a --source-password x --rtmp
refuses "--rtmp-port $port is --port too" root --host 127.0.0.1 --port "$port" --mounts /a --source-password x --rtmp-port "$port"

# warns EXPECTED ARGS... — `casty-cli ARGS…` keeps running, and its first 3 s of log hold EXPECTED (a fixed string)
# or, with EXPECTED "-", no warning at all.
warns() {
    local expected=$1
    shift
    timeout 3 "$CLI" "$@" </dev/null >"$TMP/out.log" 2>&1 || true
    if [ "$expected" = - ]; then
        check "$*: no warning" bash -c "! grep -q warning: '$TMP/out.log'"
    else
        check "$*: warns '$expected'" grep -qF -- "$expected" "$TMP/out.log"
    fi
}
# Advertised as 0.0.0.0 (the default --host), a node is out of reach of other machines: said at start.
warns "warning: advertised as 0.0.0.0:$port, which other machines cannot reach" branch --root http://127.0.0.1:9/ --port "$port"
warns "warning: advertised as 0.0.0.0:$port, which other machines cannot reach" root --source http://127.0.0.1:9/ --port "$port"
warns - branch --root http://127.0.0.1:9/ --port "$port" --advertise "127.0.0.1:$port"
warns - branch --root http://127.0.0.1:9/ --host 127.0.0.1 --port "$port"
# The application decides which keys publish: source passwords given too admit nobody, and are warned of.
warns "warning: the application (key verification) decides which keys publish: --source-password, --mount-password admit no source and are not checked" \
    server --host 127.0.0.1 --port "$port" --accept-all --source-password x --mount-password /mp=y --key-verification-url http://127.0.0.1:9/verify
warns - server --host 127.0.0.1 --port "$port" --accept-all --key-verification-url http://127.0.0.1:9/verify
timeout 3 "$CLI" server --host 127.0.0.1 --port "$port" --accept-all --source-password x --record /live \
    --hls-dir "$TMP/web" --record-dir "$TMP/web/recordings" </dev/null >"$TMP/out.log" 2>&1 || true
check "--record-dir inside --hls-dir starts a server" grep -qF "listening" "$TMP/out.log"
# Not a mistake: the release, on one line, status 0.
check "--version prints the release" bash -c "'$CLI' --version | grep -qE '^casty-cli [0-9]+\\.[0-9]+\\.[0-9]+\$'"
# `casty-cli help <command>` is that command's help, as `<command> --help` prints it.
check "help tree prints tree's usage" bash -c "'$CLI' help tree | head -1 | grep -qF 'usage: casty-cli tree'"
# `tree` of a server that is no Casty node (Python's file server: 404 for /tree, as Icecast answers) says so, rather
# than that the mount is missing.
web=$(free_port)
(cd "$TMP" && exec python3 -m http.server "$web" --bind 127.0.0.1 >/dev/null 2>&1) &
web_pid=$!
wait_until 5 listening "$web" || true
refuses "127.0.0.1:$web is not a Casty node (GET /tree answered 404)" tree "http://127.0.0.1:$web/live"
# A port in use: the error is the first line, before the built-in station says it plays.
refuses "cannot listen on 127.0.0.1:$web" station --port "$web"
refuses "cannot listen on 127.0.0.1:$web" demo --port "$web"
# A node answering /tree with terminal escapes (the file server serves $TMP/tree) cannot clear the screen or forge a
# line of the walk: what it says is printed with its control characters escaped.
printf 'address=127.0.0.1:%s\033[2J depth=0 listeners=9\033]0;PWNED\007 segments=1\r\nFAKE-LINE gaps=0 children= parent=-\n' "$web" >"$TMP/tree"
"$CLI" tree "http://127.0.0.1:$web/" >"$TMP/tree.out" 2>&1 || true
check "tree prints a node's escapes escaped ($(head -c 160 "$TMP/tree.out"))" bash -c \
    "grep -qF '\\e[2J' '$TMP/tree.out' && grep -qF '\\r\\nFAKE-LINE' '$TMP/tree.out' && ! grep -q \$'\\x1b' '$TMP/tree.out' && [ \$(wc -l <'$TMP/tree.out') = 2 ]"
kill "$web_pid" 2>/dev/null || true
# Two processes given one --event-spool would overwrite each other's events: the second refuses to start.
first=$(free_port)
"$CLI" server --host 127.0.0.1 --port "$first" --accept-all --source-password x --event-callback-url http://127.0.0.1:9/events \
    --event-spool "$TMP/spool" </dev/null >"$TMP/first.log" 2>&1 &
first_pid=$!
wait_until 10 listening "$first" || true
refuses "--event-spool $TMP/spool: another Casty process uses it ($TMP/spool.lock is locked)" \
    server --host 127.0.0.1 --port "$port" --accept-all --source-password x --event-callback-url http://127.0.0.1:9/events \
    --event-spool "$TMP/spool"
# Named through a symlink, it is the same spool: its lock is beside the file itself.
ln -s spool "$TMP/evlink"
refuses "--event-spool $TMP/evlink: another Casty process uses it ($TMP/spool.lock is locked)" \
    server --host 127.0.0.1 --port "$port" --accept-all --source-password x --event-callback-url http://127.0.0.1:9/events \
    --event-spool "$TMP/evlink"
kill "$first_pid" 2>/dev/null || true
wait "$first_pid" 2>/dev/null || true
# A file that is no spool (a config file given by mistake, random bytes) is refused and left as it was: the first write
# would have replaced it. A spool with one line of its own is one: its other lines are dropped, with their numbers.
printf 'port 8000\naccept-all\nsource-password x\n' >"$TMP/station.conf"
cp "$TMP/station.conf" "$TMP/station.conf.before"
refuses "--event-spool $TMP/station.conf holds 3 lines, none of them an event Casty wrote" \
    server --host 127.0.0.1 --port "$port" --accept-all --source-password x --event-callback-url http://127.0.0.1:9/events \
    --event-spool "$TMP/station.conf"
check "the config file given as the spool is left as it was" cmp -s "$TMP/station.conf" "$TMP/station.conf.before"
head -c 3000000 /dev/urandom >"$TMP/random"
cp "$TMP/random" "$TMP/random.before"
refuses "none of them an event Casty wrote" \
    server --host 127.0.0.1 --port "$port" --accept-all --source-password x --event-callback-url http://127.0.0.1:9/events \
    --event-spool "$TMP/random"
check "3 MB of random bytes given as the spool are left as they were" cmp -s "$TMP/random" "$TMP/random.before"
((failures == 0))
