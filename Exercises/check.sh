#!/usr/bin/env bash
# Proves that the exercises' checks are real: they pass against the reference solutions and fail against the
# untouched starters.
#
#   ./check.sh                 both proofs, every chapter
#   ./check.sh --solutions     every chapter's checks must pass against Solution/
#   ./check.sh --starters      every chapter's checks must fail (cleanly, test by test) against Starter/, untouched:
#                              one filled in is named as the cause (restore it: git checkout Chapters/*/Starter)
#   ./check.sh --solutions 3   one chapter (3, 03 or Chapter03 all work); several may be named
#
# Each mode builds in its own directory (.build-solutions, .build-starters) and fails on any warning, then runs
# each chapter's test target on its own (swift test --filter ChapterNNChecks), so one chapter can never pass
# or fail for another. With chapter 3, my-relay is proved too (alone, and with chapter 4's --distributor): the
# starter stops with one line naming the empty holes; the solution relays Casty's built-in station to mpg123,
# which must decode sound and titles — the title's changes, and a title set before the player joined (skipped
# when mpg123 is missing, unless CI is set). With chapter 5, its tree: a root and three branches, the third
# redirected by the root's Seats and followed by its Route, mpg123 playing it two hops down (the starter stops
# naming Seats.place and Route.follow). Exits 0 only when every requested proof holds.
set -uo pipefail
cd "$(dirname "$0")"

# Everything the relay proof starts is stopped on the way out, by its process id.
started=()
relay_tmp=""
stop_started() {
    local pid
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${started[@]}"; do wait "$pid" 2>/dev/null; done
    [[ -z $relay_tmp ]] || rm -rf "$relay_tmp"
    started=()
    relay_tmp=""
}
trap stop_started EXIT

# line_in FILE TEXT SECONDS — waits until FILE has a line containing TEXT.
line_in() {
    local deadline=$((SECONDS + $3))
    while ((SECONDS <= deadline)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# url_in FILE WORDS SECONDS — waits until FILE has a line "WORDS http://127.0.0.1:PORT/…" and prints that URL.
url_in() {
    local deadline=$((SECONDS + $3)) url
    while ((SECONDS <= deadline)); do
        url=$(grep -aoE "$2 http://127\.0\.0\.1:[0-9]+/" "$1" 2>/dev/null | head -1 | grep -oE 'http://.*')
        [[ -n $url ]] && { echo "$url"; return 0; }
        sleep 0.1
    done
    return 1
}

# The cause, when the starters pass what they should fail: they are no longer the untouched starters.
filled_in="Starter/ has been filled in (restore it with \`git checkout Chapters/*/Starter\`, or prove the reference solutions with --solutions)"

# refuses RELAY LOG WANT ARGS... — the relay, built from the starters, must stop before it opens a socket: status 1
# and one line on standard error that contains WANT (the name of an empty hole). No station is needed. A relay
# whose holes are filled passes its self-test and says where to play: it is stopped then, not waited for.
refuses() {
    local relay=$1 log=$2 want=$3 code pid opened=0
    shift 3
    SWIFT_BACKTRACE=enable=no timeout 20 "$relay" http://127.0.0.1:9/ --port 0 "$@" >"$log.out" 2>"$log" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null && ! grep -qsF "play http://" "$log"; do sleep 0.1; done
    if grep -qsF "play http://" "$log"; then
        opened=1
        kill "$pid" 2>/dev/null
    fi
    wait "$pid"
    code=$?
    ((code == 1)) && [[ $(wc -l <"$log") == 1 ]] && grep -qF "$want" "$log" && return 0
    if ((opened)); then
        echo "FAIL my-relay${*:+ $*}: the starter passed its self-test and opened a socket: $filled_in"
        return 1
    fi
    echo "FAIL my-relay${*:+ $*}: the starter should stop with status 1 and one line naming '$want' (exit $code):"
    head -5 "$log"
    return 1
}

# plays RELAY STATION NAME HEAR ARGS... — my-relay ARGS in front of STATION; mpg123 must decode about 3 s of sound
# through it, and the relay must log the station's title. HEAR is what mpg123 must print of the titles: `changes`
# (STATION changes its title every second: mpg123 must print at least two), or `late` (STATION set its title
# once, at its start: mpg123 joins once the relay has logged it, so it hears the title only if the first metadata
# block it gets states the title playing).
plays() {
    local relay=$1 station=$2 name=$3 hear=$4 url code bytes audible titles heard
    shift 4
    "$relay" "$station" --host 127.0.0.1 --port 0 "$@" >"$relay_tmp/$name.log" 2>&1 &
    started+=($!)
    if ! url=$(url_in "$relay_tmp/$name.log" "play" 10); then
        echo "FAIL my-relay${*:+ $*}: the relay did not start:"; tail -5 "$relay_tmp/$name.log"; return 1
    fi
    if [[ $hear == late ]] && ! line_in "$relay_tmp/$name.log" "title: Exercise tone" 15; then
        echo "FAIL my-relay${*:+ $*}: the relay never logged the station's title, set before it attached:"
        tail -8 "$relay_tmp/$name.log"
        return 1
    fi
    # 120 MP3 frames are about 3 s of audio. mpg123 notes a SIGTERM but goes on waiting for bytes that do not
    # come, so timeout follows it with a SIGKILL.
    timeout -k 2 15 mpg123 -v -n 120 -w "$relay_tmp/$name.wav" "$url" </dev/null >"$relay_tmp/$name-mpg123.log" 2>&1
    code=$?
    bytes=$(stat -c %s "$relay_tmp/$name.wav" 2>/dev/null || echo 0)
    audible=$(tail -c 100000 "$relay_tmp/$name.wav" 2>/dev/null | tr -d '\000' | wc -c)
    titles=$(grep -aoE "ICY-META: StreamTitle='Exercise tone[^']*'" "$relay_tmp/$name-mpg123.log" | sort -u | wc -l)
    if [[ $hear == late ]]; then
        heard="the title the station set before it joined"
        grep -aqF "ICY-META: StreamTitle='Exercise tone'" "$relay_tmp/$name-mpg123.log" || titles=0
    else
        heard="the station's title changes ($titles titles)"
        ((titles >= 2)) || titles=0
    fi
    if ((code == 0 && bytes > 400000 && audible > 10000 && titles > 0)) && grep -q "title: Exercise tone" "$relay_tmp/$name.log"; then
        echo "ok   my-relay${*:+ $*}: through the solution, mpg123 decoded $bytes bytes of sound and heard $heard"
        return 0
    fi
    echo "FAIL my-relay${*:+ $*}: mpg123 did not hear both the sound and $heard (mpg123 exit $code, $bytes bytes, $audible not silent)"
    tail -8 "$relay_tmp/$name-mpg123.log"; tail -8 "$relay_tmp/$name.log"
    return 1
}

# launch RELAY NAME ARGS... — starts my-relay ARGS on a free loopback port, logging to NAME.log, and sets $launched
# to the URL it serves once it prints it.
launch() {
    local relay=$1 name=$2
    shift 2
    "$relay" "$@" --host 127.0.0.1 --port 0 >"$relay_tmp/$name.log" 2>&1 &
    started+=($!)
    launched=$(url_in "$relay_tmp/$name.log" "play" 10) && return 0
    echo "FAIL my-relay $*: it did not start:"; tail -5 "$relay_tmp/$name.log"
    return 1
}

# tree_proof RELAY STATION — chapter 5's cores on sockets: a root in front of STATION, then three branches that all
# ask the root. The root's Seats take the first two and answer the third with a 302 to the first; the third's
# Route follows it, and mpg123 must play the third, two tree links below the root, and hear STATION's title, set
# before any of them attached. One more request as a branch (curl) must get a 302 to the second child: the Seats
# take the children in turn.
tree_proof() {
    local relay=$1 station=$2 root branch1 branch2 branch3 answer
    launch "$relay" root --root "$station" || return 1
    root=$launched
    launch "$relay" branch1 --branch "$root" || return 1
    branch1=$launched
    line_in "$relay_tmp/branch1.log" "tree: attached under $root" 10 \
        || { echo "FAIL my-relay --branch: the first branch did not attach under the root:"; tail -5 "$relay_tmp/branch1.log"; return 1; }
    launch "$relay" branch2 --branch "$root" || return 1
    branch2=$launched
    line_in "$relay_tmp/branch2.log" "tree: attached under $root" 10 \
        || { echo "FAIL my-relay --branch: the second branch did not attach under the root:"; tail -5 "$relay_tmp/branch2.log"; return 1; }
    plays "$relay" "$root" branch3 late --branch || return 1
    branch3=$(url_in "$relay_tmp/branch3.log" "play" 1)
    branch3=${branch3#http://}
    if ! grep -qF "tree: the reference solutions' Seats redirect branch ${branch3%/} to $branch1" "$relay_tmp/root.log" \
        || ! grep -qF "tree: the reference solutions' Seats accept branch ${branch3%/}" "$relay_tmp/branch1.log" \
        || ! grep -qF "tree: attached under $branch1" "$relay_tmp/branch3.log"; then
        echo "FAIL my-relay --root: the full root did not redirect the third branch to the first, or it did not attach there:"
        grep -F "tree:" "$relay_tmp/root.log" "$relay_tmp/branch1.log" "$relay_tmp/branch3.log" | tail -12
        return 1
    fi
    answer=$(curl -s -o /dev/null --max-time 5 -H "X-Casty-Branch: 127.0.0.1:9" -w '%{http_code} %{redirect_url}' "$root")
    if [[ $answer != "302 $branch2" ]]; then
        echo "FAIL my-relay --root: a fourth branch should get 302 to the second child $branch2, got '$answer'"
        return 1
    fi
    echo "ok   my-relay --root/--branch: the root's Seats took two branches and sent the third to the first (302, followed by its Route; mpg123 played it two links down), and a fourth to the second"
    local name
    for name in root branch1 branch3; do grep -F "tree:" "$relay_tmp/$name.log" | sed "s/^/       $name: /"; done
}

# relay_proof MODE SCRATCH CH3 CH5 — my-relay, built from this mode's chapters, in front of Casty's built-in
# station: with CH3=1 alone and with chapter 4's distributor, with CH5=1 as a tree. Two stations play: one changes
# its title every second, the other sets it once, at its start — so only a relay whose players' first metadata
# block states the title playing lets them hear it.
relay_proof() {
    local mode=$1 scratch=$2 relay="$2/debug/my-relay" ch3=$3 ch5=$4 failed=0
    if [[ $mode == starters ]]; then
        if ((ch3)); then
            refuses "$relay" "$scratch/relay.err" 'ProxyCore.receive(_:) is still empty' || failed=1
            refuses "$relay" "$scratch/relay-distributor.err" 'DistributorCore.deliver(_:_:) is still empty' --distributor || failed=1
            ((failed)) || echo "ok   my-relay: the starter stops with status 1 and one line naming the empty holes (with and without --distributor)"
        fi
        if ((ch5)); then
            local before=$failed
            refuses "$relay" "$scratch/relay-root.err" 'Seats.place(_:) is still empty' --root || failed=1
            refuses "$relay" "$scratch/relay-branch.err" 'Route.follow(_:) is still empty' --branch || failed=1
            ((failed > before)) || echo "ok   my-relay --root/--branch: the starter stops with status 1 and one line naming Seats.place and Route.follow"
        fi
        return $failed
    fi
    if ! command -v mpg123 >/dev/null; then
        if [[ -n ${CI:-} ]]; then
            echo "FAIL my-relay: mpg123 is not installed, and CI is set (scripts/install-peers.sh in the Casty folder installs it)"
            return 1
        fi
        echo "skip my-relay: mpg123 is not installed, so nobody can listen (scripts/install-peers.sh in the Casty folder installs it)"
        return 0
    fi
    echo "     building casty-cli (the station) in the Casty folder … this takes a few minutes the first time"
    if ! swift build --package-path .. --product casty-cli >"$scratch/casty-cli.log" 2>&1; then
        local old
        if old=$(built_elsewhere "$scratch/casty-cli.log" .build); then
            echo "FAIL my-relay: the Casty folder's .build was built in $old, before the checkout moved: remove it (rm -rf ../.build) and run again"
        else
            echo "FAIL my-relay: casty-cli (the station) does not build in the Casty package; see $scratch/casty-cli.log"
        fi
        return 1
    fi
    local cli changing steady
    cli="$(swift build --package-path .. --show-bin-path)/casty-cli"
    relay_tmp=$(mktemp -d)
    "$cli" station --host 127.0.0.1 --port 0 --title "Exercise tone" --title-every 1 >"$relay_tmp/changing.log" 2>&1 &
    started+=($!)
    # The longest --title-every there is, a day: the title "Exercise tone" is set at the start and stays.
    "$cli" station --host 127.0.0.1 --port 0 --title "Exercise tone" --title-every 86400 >"$relay_tmp/steady.log" 2>&1 &
    started+=($!)
    if ! changing=$(url_in "$relay_tmp/changing.log" "listening on" 20) || ! steady=$(url_in "$relay_tmp/steady.log" "listening on" 20); then
        echo "FAIL my-relay: casty-cli station did not start:"; tail -5 "$relay_tmp/changing.log" "$relay_tmp/steady.log"; return 1
    fi
    if ((ch3)); then
        plays "$relay" "$changing" relay changes || failed=1
        plays "$relay" "$steady" relay-late late || failed=1
        plays "$relay" "$steady" relay-distributor late --distributor || failed=1
    fi
    if ((ch5)); then
        if ! command -v curl >/dev/null; then
            echo "FAIL my-relay --root/--branch: curl is not installed (it asks the full root as a fourth branch)"
            failed=1
        else
            tree_proof "$relay" "$steady" || failed=1
        fi
    fi
    return $failed
}

# built_elsewhere LOG SCRATCH — when LOG says SCRATCH's precompiled modules were made in another folder (the
# checkout was copied or moved since: "was compiled with module cache path '/old/…'"), prints that folder.
built_elsewhere() {
    local old
    old=$(grep -aom1 "was compiled with module cache path '[^']*'" "$1" | sed -E "s/^[^']*'//; s/'$//")
    [[ -n $old ]] || return 1
    echo "${old%%"/$2/"*}"
}

# count LINES WORD — "1 WORD" or "N WORDs", N the number of LINES.
count() {
    local n
    n=$(grep -c . <<<"$1")
    ((n == 1)) && echo "1 $2" || echo "$n $2s"
}

# build SCRATCH — builds the package and its checks in SCRATCH; when that fails or warns, says which in one line
# and shows the diagnostics. Warnings stay warnings for the compiler so that they can be told from errors; a
# file that warned is compiled again next time (its object file removed), so its warnings show until fixed. A
# SCRATCH built in another folder (a checkout copied or moved) is cleared and built again, in one line.
build() {
    local scratch=$1 log="$1/build.log" built=1 old errors warnings file module
    swift build --build-tests --scratch-path "$scratch" --manifest-cache local >"$log" 2>&1 || built=0
    if ((!built)) && old=$(built_elsewhere "$log" "$scratch"); then
        echo "     $scratch was built in $old, before the checkout moved: cleared, building again"
        rm -rf "$scratch" && mkdir -p "$scratch"
        built=1
        swift build --build-tests --scratch-path "$scratch" --manifest-cache local >"$log" 2>&1 || built=0
    fi
    # Each diagnostic once ("file:line:col: error: …"; SwiftPM may print one twice), and SwiftPM's own errors but
    # "… command failed with exit code 1", which only says that a module had some.
    errors=$(grep -aE '^[^ |]+:[0-9]+(:[0-9]+)?: error: |^error: ' "$log" | grep -v 'command failed with exit code' \
        | awk '!seen[$0]++')
    warnings=$(grep -aE '^/.*\.swift:[0-9]+:[0-9]+: warning: ' "$log" | awk '!seen[$0]++')
    # A file that warned loses its object file (its module's output-file-map.json names it), so the next build
    # compiles it again and shows its warnings again, where an unchanged file would not be compiled.
    while IFS= read -r file; do
        [[ -n $file ]] || continue
        grep -h -A4 -F "\"$file\": {" "$scratch"/debug/*.build/output-file-map.json 2>/dev/null \
            | sed -nE 's/^ *"object": "(.*)",?$/\1/p' | while IFS= read -r object; do rm -f "$object"; done
    done < <(sed -E 's/:[0-9]+:[0-9]+: warning: .*//' <<<"$warnings" | sort -u)
    if ((!built)); then
        echo "FAIL $mode: the package does not build: $(count "$errors" error) (see $log):"
        head -20 <<<"$errors"
        return 1
    fi
    if [[ -n $warnings ]]; then
        echo "FAIL $mode: the package builds, but with $(count "$warnings" warning), and check.sh allows none:"
        head -20 <<<"$warnings"
        return 1
    fi
}

modes=()
chapters=()
for argument in "$@"; do
    case "$argument" in
        --solutions) modes+=(solutions) ;;
        --starters) modes+=(starters) ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "check.sh: unknown option '$argument' (--solutions, --starters, or chapters 1 to 8)" >&2; exit 2 ;;
        *)
            number=${argument#Chapter}
            if [[ ! "$number" =~ ^[0-9]+$ ]] || (( 10#$number < 1 || 10#$number > 8 )); then
                echo "check.sh: no chapter '$argument' (1 to 8)" >&2
                exit 2
            fi
            chapters+=("$(printf 'Chapter%02d' "$((10#$number))")")
            ;;
    esac
done
(( ${#modes[@]} )) || modes=(solutions starters)
(( ${#chapters[@]} )) || chapters=(Chapter01 Chapter02 Chapter03 Chapter04 Chapter05 Chapter06 Chapter07 Chapter08)

status=0
for mode in "${modes[@]}"; do
    begun=$SECONDS
    scratch=".build-$mode"
    if [[ $mode == solutions ]]; then export CASTY_SOLUTIONS=1; else export CASTY_SOLUTIONS=0; fi
    mkdir -p "$scratch"
    echo "== $mode: building (CASTY_SOLUTIONS=$CASTY_SOLUTIONS, $scratch)"
    # The manifest reads CASTY_SOLUTIONS, so its cache must not be shared between the two modes.
    if ! build "$scratch"; then
        status=1
        continue
    fi
    for chapter in "${chapters[@]}"; do
        log="$scratch/$chapter.log"
        # A hole that crashes must fail fast: no interactive backtrace, which can take minutes on a busy machine.
        # One check at a time: checks run side by side write their lines into each other ("✘ Test m✘ Test …"), and a
        # failed check whose line was cut so was not counted (a chapter's checks take milliseconds either way).
        SWIFT_BACKTRACE=enable=no timeout 300 \
            swift test --skip-build --no-parallel --scratch-path "$scratch" --manifest-cache local --filter "${chapter}Checks" >"$log" 2>&1
        code=$?
        # Swift Testing's summary line: "✔ Test run with N tests … passed …" or "✘ Test run with N tests … failed …".
        summary=$(grep -E 'Test run with [0-9]+ tests?' "$log" | tail -1)
        total=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' <<<"$summary")
        # One "✘ Test NAME(…) failed after" line per failed check; a parameterised one says "NAME(_:) with N test
        # cases failed after". The run's own summary ("✘ Test run with …") is not a check.
        failed=$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run with')
        if [[ $mode == solutions ]]; then
            if (( code == 0 )) && [[ $summary == *passed* ]] && (( ${total:-0} > 0 )); then
                echo "ok   $chapter: all $total checks pass against the solution"
            else
                echo "FAIL $chapter: checks do not pass against the solution (exit $code; see $log)"
                grep -E '✘|error' "$log" | head -20
                status=1
            fi
        else
            # Failing must mean "checks ran and reported failures", not a crash or a build error.
            if (( code != 0 )) && [[ $summary == *failed* ]] && (( failed > 0 && failed == total )); then
                echo "ok   $chapter: $failed of $total checks fail against the starter, as they should"
            elif (( failed > 0 && failed < total )); then
                echo "FAIL $chapter: $((total - failed)) of $total checks pass against the untouched starter (see $log; if you filled in Starter/, restore it with \`git checkout Chapters/*/Starter\`, or prove the reference solutions with --solutions):"
                grep -E '^✔ Test .* passed' "$log" | grep -v '^✔ Test run with' | head -10
                status=1
            elif (( code == 0 && failed == 0 && ${total:-0} > 0 )) && [[ $summary == *passed* ]]; then
                echo "FAIL $chapter: every check passes: $filled_in"
                status=1
            else
                echo "FAIL $chapter: the starter does not fail its checks cleanly (exit $code, summary: ${summary:-none}; see $log)"
                status=1
            fi
        fi
    done
    ch3=0 ch5=0
    [[ " ${chapters[*]} " == *" Chapter03 "* ]] && ch3=1
    [[ " ${chapters[*]} " == *" Chapter05 "* ]] && ch5=1
    if ((ch3 || ch5)); then relay_proof "$mode" "$scratch" "$ch3" "$ch5" || status=1; stop_started; fi
    echo "== $mode: $((SECONDS - begun)) s"
done
exit $status
