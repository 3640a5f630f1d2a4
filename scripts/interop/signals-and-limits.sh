#!/usr/bin/env bash
# signals-and-limits.sh — how casty-cli ends, and what it does at its descriptor limit (README, "casty-cli").
#
# Asserts:
#   (a) SIGHUP (a closed terminal or ssh session; a service manager's "reload") stops a station cleanly, as SIGTERM
#       does: status 0, the `SIGHUP: stopping …` and `stopped in` lines, the live HLS of --hls-dir deleted (it used
#       to die of the signal, status 129, leaving a live playlist that no longer moved);
#       the log's first line says the date, its other lines only the time;
#   (b) under nohup, which ignores SIGHUP, the station keeps running; a station server with --config takes SIGHUP
#       back all the same, says so in one line at start, and reads its file again on it (it said nothing and
#       ignored the signal, its file read again only at a restart);
#   (c) `casty-cli dummy`, told Ctrl-C, prints its summary and exits (it printed a server's shutdown line, no
#       summary); one none of whose listeners could connect prints it too, and exits 1 (it printed none);
#   (d) `casty-cli dummy` asked for more listeners than its descriptor limit allows counts the rest as failed —
#       status 1, `dummy error (N×): … out of file descriptors` — rather than dying (SIGILL: Dispatch could no longer
#       open the /proc files it watches its threads with);
#   (e) a proxy at its descriptor limit refuses the peers past it (or, for each, sheds a peer that has not sent its
#       request yet: a burst of dummies is accepted before their requests are read), keeps streaming to the others
#       and answering /status.json, and logs at most five refusals and five sheds per 10 s (it logged every one,
#       hundreds a second);
#   (f) a server killed with SIGKILL leaves its live HLS in --hls-dir; started again, with no source on that mount,
#       it deletes it at once (nginx served the dead run's playlist, which nothing moved, until a source came) and
#       keeps the files that are not its own, and the folders of mounts it does not serve (another node's, maybe);
#   (g) SIGTERM ends a station server's live sources, each with its end line (`… ended: the server is stopping`), with
#       no application to tell (only a server with a control plane ended them: the others' logs said nothing of them);
#   (h) SIGHUP, which reads a station server's --config again, keeps its live HLS in --hls-dir: every segment its
#       playlist names stays on disk (the reload ran the start-up clean-up, deleting this run's live files as "files
#       of an earlier run": nginx answered 404 for the segments listed until the window rolled over);
#   (i) SIGTERM sums up the joins and leaves counted past the log's budget in its last window (they were lost);
#   (j) at its descriptor limit, a station flooded with connections that send no request, all from one address
#       (127.0.0.2), still admits a player from another: each newcomer takes the place of the flood's oldest
#       connection still waiting for its request, with at most five lines per 10 s naming that address (every
#       player was refused until the flood's connections reached the 15 s header deadline);
#   (k) SIGUSR1 and SIGUSR2 (logrotate's postrotate scripts send kill -USR1) leave a station server running, each
#       ignored with one line saying why (their default action killed it at once, status 138/140, its access log's last
#       lines lost); a SIGHUP whose file changes --access-log, taken at a restart, makes no file (it made an empty one).
# Exit 0 only if all passed. About 55 s; needs python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=scripts/lib/checks.sh
. "$here/../lib/checks.sh"

find_casty_cli "$here/../.."
TMP=$(mktemp -d /tmp/casty-signals.XXXXXX)
pids=()
trap stop_started EXIT

# (a) SIGHUP stops a station cleanly.
port=$(free_port)
"$CLI" station --port "$port" --hls-dir "$TMP/hls" --hls-target 1 >"$TMP/hup.log" 2>&1 &
station=$!
check "(a) the station writes its live HLS to --hls-dir" wait_until 20 test -f "$TMP/hls/index.m3u8"
kill -HUP "$station"
rc=0
wait "$station" || rc=$?
check "(a) SIGHUP: status 0 (got $rc)" test "$rc" = 0
check "(a) SIGHUP: the stopping line" log_has "$TMP/hup.log" "SIGHUP: stopping"
check "(a) a station's stopping line claims no sources nor events it has not" bash -c "! grep -q 'stopping (' '$TMP/hup.log'"
check "(a) SIGHUP: the stopped line" log_has "$TMP/hup.log" "stopped in [0-9]+ ms"
check "(a) SIGHUP: the live playlist is deleted" test ! -e "$TMP/hls/index.m3u8"
dated() { head -1 "$TMP/hup.log" | grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2} date: [0-9]{4}-[0-9]{2}-[0-9]{2}, times UTC[+-][0-9]{2}:[0-9]{2}$'; }
check "(a) the log's first line says the date (its lines carry only the time): $(head -1 "$TMP/hup.log")" dated

# (b) Under nohup, SIGHUP is ignored.
port=$(free_port)
nohup "$CLI" station --port "$port" >"$TMP/nohup.log" 2>&1 &
station=$!
pids+=("$station")
check "(b) the station under nohup listens" wait_until 10 listening "$port"
kill -HUP "$station"
sleep 1
check "(b) under nohup, SIGHUP leaves the station running" kill -0 "$station"
check "(b) under nohup, SIGHUP is not a stop" bash -c "! grep -q 'SIGHUP: stopping' '$TMP/nohup.log'"
server_port=$(free_port)
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw\nmounts /live\nadmin-password adminone\n' "$server_port" >"$TMP/nohup.conf"
nohup "$CLI" server --config "$TMP/nohup.conf" >"$TMP/nohup-server.log" 2>&1 &
server=$!
pids+=("$server")
check "(b) the server under nohup listens" wait_until 10 listening "$server_port"
check "(b) under nohup, the server says SIGHUP is taken all the same" \
    log_has "$TMP/nohup-server.log" "--config .*nohup\.conf: SIGHUP was ignored when this process started \(under nohup\?\); it is taken all the same, to read the file again"
printf 'port %s\nhost 127.0.0.1\nsource-password srcpw\nmounts /live\nadmin-password admintwo\n' "$server_port" >"$TMP/nohup.conf"
kill -HUP "$server"
check "(b) under nohup, SIGHUP reads the server's file again" \
    wait_until 10 log_has "$TMP/nohup-server.log" "SIGHUP: options read again: admin password changed"
check "(b) under nohup, the server runs on after SIGHUP, not stopped" \
    bash -c "kill -0 $server && ! grep -q 'SIGHUP: stopping' '$TMP/nohup-server.log'"

# (c) Ctrl-C ends a dummy with its summary ($station still plays).
"$CLI" dummy "http://127.0.0.1:$port/" --count 3 >"$TMP/dummy.out" 2>"$TMP/dummy.err" &
dummy=$!
sleep 3
kill -INT "$dummy"
rc=0
wait "$dummy" || rc=$?
check "(c) Ctrl-C: the dummy prints its summary" grep -q "^dummy summary: connected=3/3 " "$TMP/dummy.out"
check "(c) Ctrl-C: status 0, every listener connected (got $rc)" test "$rc" = 0
check "(c) Ctrl-C: no server's shutdown line" bash -c "! grep -q 'stopping (sources ended' '$TMP/dummy.err'"
rc=0
"$CLI" dummy "http://127.0.0.1:$(free_port)/" --count 2 --duration 5 >"$TMP/none.out" 2>/dev/null || rc=$?
check "(c) no listener could connect: status 1 (got $rc)" test "$rc" = 1
check "(c) no listener could connect: the summary all the same" grep -q "^dummy summary: connected=0/2 " "$TMP/none.out"

# (d) More dummies than descriptors: the rest fail, counted.
rc=0
(ulimit -n 256 && exec "$CLI" dummy "http://127.0.0.1:$port/" --count 300 --duration 2) >"$TMP/many.out" 2>"$TMP/many.err" || rc=$?
check "(d) past its descriptor limit: status 1, not a crash (got $rc)" test "$rc" = 1
check "(d) the summary counts who connected" grep -qE "^dummy summary: connected=2[0-9]{2}/300 " "$TMP/many.out"
check "(d) the others failed for lack of descriptors" grep -qE "^dummy error \([0-9]+×\): .*out of file descriptors" "$TMP/many.out"

# (e) A proxy at its descriptor limit.
proxy_port=$(free_port)
(ulimit -n 128 && exec "$CLI" proxy "http://127.0.0.1:$port/" --port "$proxy_port") >"$TMP/proxy.log" 2>&1 &
pids+=($!)
check "(e) the proxy listens" wait_until 10 listening "$proxy_port"
check "(e) the proxy relays the station" wait_until 10 bash -c "curl -s -m 2 http://127.0.0.1:$proxy_port/status.json | grep -q '\"upstream\":\"streaming\"'"
"$CLI" dummy "http://127.0.0.1:$proxy_port/" --count 300 --duration 3 >"$TMP/flood.out" 2>/dev/null || true
check "(e) the proxy served as many as it could" grep -qE "^dummy summary: connected=[1-9][0-9]+/300 " "$TMP/flood.out"
check "(e) the proxy still answers /status.json" bash -c "curl -s -m 2 http://127.0.0.1:$proxy_port/status.json | grep -q icestats"
refusals=$(grep -c "refused a peer: out of file descriptors" "$TMP/proxy.log" || true)
shed=$(grep -c "shed for a new peer (out of file descriptors)" "$TMP/proxy.log" || true)
check "(e) at most five refusal lines and five shed lines in 10 s (got $refusals and $shed)" \
    test $((refusals + shed)) -ge 1 -a "$refusals" -le 5 -a "$shed" -le 5

# (f) A killed run's live HLS is deleted by the next run.
port=$(free_port)
"$CLI" server --port "$port" --host 127.0.0.1 --mounts /live --station /live --hls-dir "$TMP/dead" --hls-target 1 \
    >"$TMP/dead1.log" 2>&1 &
killed=$!
check "(f) the first run writes /live's HLS" wait_until 20 test -f "$TMP/dead/live/index.m3u8"
echo "not Casty's" >"$TMP/dead/live/notes.txt"
# Another node's mount, sharing the directory: not this server's to delete.
mkdir -p "$TMP/dead/other" && printf '#EXTM3U\n' >"$TMP/dead/other/index.m3u8"
kill -KILL "$killed"
wait "$killed" 2>/dev/null || true
check "(f) SIGKILL left the live playlist" test -f "$TMP/dead/live/index.m3u8"
next_run_port=$port
"$CLI" server --port "$port" --host 127.0.0.1 --mounts /live --source-password hackme --hls-dir "$TMP/dead" >"$TMP/dead2.log" 2>&1 &
next_run=$!
pids+=("$next_run")
check "(f) the next run listens" wait_until 10 listening "$port"
check "(f) the next run deleted the dead run's playlist" test ! -e "$TMP/dead/live/index.m3u8"
check "(f) and its segments" bash -c "! ls '$TMP/dead/live' | grep -qE '\.(mp3|aac)\$'"
check "(f) and kept the file that is not its own" test -f "$TMP/dead/live/notes.txt"
check "(f) and the playlist of a mount it does not serve" test -f "$TMP/dead/other/index.m3u8"
check "(f) and said so" log_has "$TMP/dead2.log" "files of an earlier run deleted"

# (g) SIGTERM ends a server's live sources with their end line, with no application to tell (it said nothing of them).
station_port=$(free_port)
"$CLI" station --port "$station_port" >"$TMP/feeder.log" 2>&1 &
pids+=($!)
check "(g) the feeding station listens" wait_until 10 listening "$station_port"
(curl -sN -m 30 "http://127.0.0.1:$station_port/" | curl -s -m 30 -T - -H 'Content-Type: audio/mpeg' -u source:hackme \
    "http://127.0.0.1:$next_run_port/live" >/dev/null 2>&1) &
pids+=($!)
check "(g) a source publishes /live" wait_until 15 log_has "$TMP/dead2.log" "publishing /live"
sleep 1
kill -TERM "$next_run"
wait "$next_run" 2>/dev/null || true
check "(g) SIGTERM: the source's end line" log_has "$TMP/dead2.log" "on /live ended: the server is stopping"
check "(g) SIGTERM: a server's stopping line says its sources are ended (it records nothing: not that recordings are finished)" \
    log_has "$TMP/dead2.log" "SIGTERM: stopping \(sources ended\)$"

# (h) SIGHUP keeps the running server's own live HLS.
port=$(free_port)
printf 'port %s\nhost 127.0.0.1\nmounts /live\nstation /live\nhls-dir %s\nhls-target 1\n' "$port" "$TMP/live" >"$TMP/live.conf"
"$CLI" server --config "$TMP/live.conf" >"$TMP/live.log" 2>&1 &
reloaded_server=$!
pids+=("$reloaded_server")
listed() { grep -v '^#' "$TMP/live/live/index.m3u8" 2>/dev/null; }
several() { [ "$(listed | wc -l)" -ge 3 ]; }
check "(h) the server writes a playlist of several segments" wait_until 20 several
segments=$(listed)
printf 'admin-password secret\n' >>"$TMP/live.conf"
kill -HUP "$reloaded_server"
check "(h) SIGHUP reads the file again" wait_until 10 log_has "$TMP/live.log" "SIGHUP: options read again: admin password"
kept() { for segment in $segments; do test -f "$TMP/live/live/$segment" || return 1; done; }
check "(h) SIGHUP: the segments the playlist named are still on disk (${segments//$'\n'/ })" kept
check "(h) SIGHUP deleted nothing as an earlier run's" bash -c "! grep -q 'of an earlier run deleted' '$TMP/live.log'"

# (k) SIGUSR1 and SIGUSR2 change nothing but a line; a SIGHUP that changes --access-log, taken at a restart, makes no file.
kill -USR1 "$reloaded_server"
check "(k) SIGUSR1 is ignored, with a line saying why" \
    wait_until 10 log_has "$TMP/live.log" "SIGUSR1: ignored \(the access log follows a moved or truncated file by itself"
kill -USR2 "$reloaded_server"
check "(k) SIGUSR2 too" wait_until 10 log_has "$TMP/live.log" "SIGUSR2: ignored \("
check "(k) the server runs on after them" bash -c "kill -0 $reloaded_server && ! grep -qE 'SIGUSR[12]: stopping' '$TMP/live.log'"
printf 'access-log %s\n' "$TMP/later-access.log" >>"$TMP/live.conf"
kill -HUP "$reloaded_server"
check "(k) SIGHUP says --access-log waits for a restart" \
    wait_until 10 log_has "$TMP/live.log" "SIGHUP: options read again: only --access-log changed: taken at a restart"
check "(k) and makes no access log meanwhile" test ! -e "$TMP/later-access.log"
kill -TERM "$reloaded_server"
wait "$reloaded_server" 2>/dev/null || true
check "(h) SIGTERM: a server no source ever published to claims no sources ended" \
    bash -c "grep -q 'SIGTERM: stopping' '$TMP/live.log' && ! grep -q 'SIGTERM: stopping (sources ended' '$TMP/live.log'"

# (i) SIGTERM sums up the log lines counted but not yet told: 30 players that came and went within a window of the
# joins-and-leaves budget (20 lines) are all in the log (the last ten were lost when the process stopped before the
# window ended).
port=$(free_port)
"$CLI" station --host 127.0.0.1 --port "$port" >"$TMP/probes.log" 2>&1 &
probed=$!
pids+=("$probed")
check "(i) the station listens" wait_until 10 listening "$port"
probes=()
for _ in $(seq 30); do timeout 0.5 curl -s "http://127.0.0.1:$port/" >/dev/null 2>&1 & probes+=($!); done
wait "${probes[@]}" 2>/dev/null || true
kill -TERM "$probed"
wait "$probed" 2>/dev/null || true
check "(i) SIGTERM: the joins and leaves past the budget are summed up" log_has "$TMP/probes.log" "more listener joins and leaves in the last"

# (j) A flood of idle connections from one address at the descriptor limit: a player from another is admitted.
port=$(free_port)
(ulimit -n 128 && exec "$CLI" station --host 127.0.0.1 --port "$port") >"$TMP/flooded.log" 2>&1 &
pids+=($!)
check "(j) the station listens" wait_until 10 listening "$port"
# 300 connections from 127.0.0.2, more than the descriptors left, held without a byte for 12 s (under 15 s).
python3 - "$port" >"$TMP/idle-flood.out" 2>&1 <<'PY' &
import socket, sys, time
held = []
for _ in range(300):
    peer = socket.socket()
    peer.bind(("127.0.0.2", 0))
    peer.connect(("127.0.0.1", int(sys.argv[1])))
    held.append(peer)
print("flooding", len(held), flush=True)
time.sleep(12)
PY
pids+=($!)
check "(j) the flood is in" wait_until 10 log_has "$TMP/idle-flood.out" "^flooding 300"
check "(j) the flood's oldest are shed, its address named" \
    wait_until 10 log_has "$TMP/flooded.log" "connection from 127\.0\.0\.2:[0-9]+ shed for a new peer \(out of file descriptors\): it had sent no request, the oldest of [0-9]+ waiting from 127\.0\.0\.2"
curl -s -m 3 "http://127.0.0.1:$port/" -o "$TMP/flooded.mp3" || true
check "(j) a player from 127.0.0.1 is admitted and streams ($(stat -c %s "$TMP/flooded.mp3" 2>/dev/null || echo 0) bytes)" \
    test "$(stat -c %s "$TMP/flooded.mp3" 2>/dev/null || echo 0)" -ge 8192
check "(j) it is not refused" bash -c "! grep -q 'refused a peer' '$TMP/flooded.log'"
shed=$(grep -c "shed for a new peer" "$TMP/flooded.log" || true)
check "(j) at most five shed lines in 10 s (got $shed)" test "$shed" -ge 1 -a "$shed" -le 5

((failures == 0))
