#!/usr/bin/env bash
# Proves that the exercises' checks are real: they pass against the reference solutions and fail against the
# untouched starters.
#
#   ./check.sh                 both proofs, every chapter
#   ./check.sh --solutions     every chapter's checks must pass against Solution/
#   ./check.sh --starters      every chapter's checks must fail (cleanly, test by test) against Starter/
#   ./check.sh --solutions 3   one chapter (3, 03 or Chapter03 all work); several may be named
#
# Each mode builds in its own directory (.build-solutions, .build-starters) with warnings as errors, then runs
# each chapter's test target on its own (swift test --filter ChapterNNChecks), so one chapter can never pass
# or fail for another. Exits 0 only when every requested proof holds.
set -uo pipefail
cd "$(dirname "$0")"

modes=()
chapters=()
for argument in "$@"; do
    case "$argument" in
        --solutions) modes+=(solutions) ;;
        --starters) modes+=(starters) ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *)
            number=${argument#Chapter}
            if [[ ! "$number" =~ ^[0-9]+$ ]] || (( 10#$number < 1 || 10#$number > 7 )); then
                echo "check.sh: no chapter '$argument' (1 to 7)" >&2
                exit 2
            fi
            chapters+=("$(printf 'Chapter%02d' "$((10#$number))")")
            ;;
    esac
done
(( ${#modes[@]} )) || modes=(solutions starters)
(( ${#chapters[@]} )) || chapters=(Chapter01 Chapter02 Chapter03 Chapter04 Chapter05 Chapter06 Chapter07)

status=0
for mode in "${modes[@]}"; do
    started=$SECONDS
    scratch=".build-$mode"
    if [[ $mode == solutions ]]; then export CASTY_SOLUTIONS=1; else export CASTY_SOLUTIONS=0; fi
    mkdir -p "$scratch"
    echo "== $mode: building (CASTY_SOLUTIONS=$CASTY_SOLUTIONS, $scratch)"
    # The manifest reads CASTY_SOLUTIONS, so its cache must not be shared between the two modes.
    if ! swift build --build-tests --scratch-path "$scratch" --manifest-cache local -Xswiftc -warnings-as-errors \
        >"$scratch/build.log" 2>&1; then
        echo "FAIL $mode: the package does not build without warnings:"
        grep -E 'error|warning' "$scratch/build.log" | head -40
        status=1
        continue
    fi
    for chapter in "${chapters[@]}"; do
        log="$scratch/$chapter.log"
        # A hole that crashes must fail fast: no interactive backtrace, which can take minutes on a busy machine.
        SWIFT_BACKTRACE=enable=no timeout 300 \
            swift test --skip-build --scratch-path "$scratch" --manifest-cache local --filter "${chapter}Checks" >"$log" 2>&1
        code=$?
        # Swift Testing's summary line: "✔ Test run with N tests … passed …" or "✘ Test run with N tests … failed …".
        summary=$(grep -E 'Test run with [0-9]+ tests?' "$log" | tail -1)
        total=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' <<<"$summary")
        failed=$(grep -cE '✘ Test .*\) failed' "$log")
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
            if (( code != 0 )) && [[ $summary == *failed* ]] && (( failed > 0 )); then
                echo "ok   $chapter: $failed of $total checks fail against the starter, as they should"
            else
                echo "FAIL $chapter: the starter does not fail its checks cleanly (exit $code, summary: ${summary:-none}; see $log)"
                status=1
            fi
        fi
    done
    echo "== $mode: $((SECONDS - started)) s"
done
exit $status
