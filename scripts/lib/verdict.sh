# shellcheck shell=bash
# scripts/lib/verdict.sh — the verdict every scenario family shares (scripts/interop, scripts/station,
# scripts/tree): PASS:/FAIL:/INFO:/MEASURE: lines tagged with the script, what it runs against and the seconds
# since it started; logs whose tails are printed as evidence when a check failed; and an EXIT trap that prints
# the verdict and exits non-zero when a check failed or the script stopped early. Sourced, not run.
#
# The family's library sources it and, in its begin function, sets VERDICT_TAG (`publish/casty`: the script and
# its target; the script's name alone by default) and calls `verdict_traps`. It may define two hooks:
#
#     verdict_context    printed at the top of the evidence (a status page, which processes still run)
#     verdict_cleanup    run at exit, before the verdict: ends what the script started (it may call `fail`)
#
# A script registers a log with `evidence_log LABEL FILE`; VERDICT_TAIL lines of each are printed (default 40).

VERDICT_NAME=$(basename "$0" .sh)
VERDICT_TAG=$VERDICT_NAME
VERDICT_FAILS=0
VERDICT_PASSES=0
VERDICT_LOGS=()          # "LABEL|FILE", printed on failure
VERDICT_ERR=""           # the command that failed under set -e, for "stopped early"
VERDICT_STARTED=$SECONDS
VERDICT_T0=${EPOCHREALTIME/./}
VERDICT_TAIL=${VERDICT_TAIL:-40}

_verdict_elapsed() { local t=${EPOCHREALTIME/./}; t=$(((t - VERDICT_T0) / 100000)); printf '%d.%d' $((t / 10)) $((t % 10)); }
pass() { VERDICT_PASSES=$((VERDICT_PASSES + 1)); echo "PASS: [$VERDICT_TAG +$(_verdict_elapsed)s] $*"; }
fail() { VERDICT_FAILS=$((VERDICT_FAILS + 1)); echo "FAIL: [$VERDICT_TAG +$(_verdict_elapsed)s] $*"; }
info() { echo "INFO: [$VERDICT_TAG +$(_verdict_elapsed)s] $*"; }
# measure NAME VALUE UNIT — a figure worth reporting (grep MEASURE: in the output).
measure() { echo "MEASURE: [$VERDICT_TAG] $1 = $2 $3"; }

# evidence_log LABEL FILE — print the tail of FILE (if it exists) as evidence when the script fails.
evidence_log() { VERDICT_LOGS+=("$1|$2"); }

# _verdict_evidence — the family's context, then the tail of every registered log: progress lines (\r) made
# readable, mpg123's frame counters and empty lines left out, long lines cut.
_verdict_evidence() {
    local entry label file
    echo "----- evidence for $VERDICT_TAG: logs under ${TMP:-?} -----"
    if declare -F verdict_context >/dev/null; then verdict_context; fi
    for entry in "${VERDICT_LOGS[@]}"; do
        label=${entry%%|*}
        file=${entry#*|}
        [ -f "$file" ] || { echo "----- $label: no log ($file) -----"; continue; }
        echo "----- $label: last $VERDICT_TAIL lines of $file -----"
        tr '\r' '\n' <"$file" | tr -d '\000' | grep -v '^[[:space:]]*$' | grep -v '^> [0-9]' | tail -n "$VERDICT_TAIL" \
            | cut -c1-400 || true
    done
    echo "----- end of evidence -----"
}

# _verdict_exit — EXIT trap: evidence when anything failed, the family's cleanup, then the verdict.
_verdict_exit() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [ "$rc" -ne 0 ] && [ "$VERDICT_FAILS" -eq 0 ]; then
        echo "FAIL: [$VERDICT_TAG] stopped early (exit status $rc${VERDICT_ERR:+, at $VERDICT_ERR})"
        VERDICT_FAILS=1
    fi
    [ "$VERDICT_FAILS" -eq 0 ] || _verdict_evidence
    if declare -F verdict_cleanup >/dev/null; then verdict_cleanup; fi
    if [ "$VERDICT_FAILS" -gt 0 ]; then
        echo "FAIL: $VERDICT_TAG: $VERDICT_FAILS failed, $VERDICT_PASSES passed, $((SECONDS - VERDICT_STARTED)) s"
        [ "$rc" -ne 0 ] || rc=1
    else
        echo "PASS: $VERDICT_TAG: all $VERDICT_PASSES checks passed, $((SECONDS - VERDICT_STARTED)) s"
    fi
    exit "$rc"
}

# verdict_traps — from now on the script ends with its verdict: on exit, on an error under set -e (the failing
# command is named), on SIGINT and SIGTERM.
verdict_traps() {
    set -E
    trap 'VERDICT_ERR="line $LINENO: $BASH_COMMAND"' ERR
    trap '_verdict_exit' EXIT
    trap 'echo "FAIL: [$VERDICT_TAG] interrupted"; exit 130' INT
    trap 'echo "FAIL: [$VERDICT_TAG] terminated"; exit 143' TERM
}

# verdict_end — exit with the verdict (the EXIT trap prints it and the evidence).
verdict_end() { exit 0; }
