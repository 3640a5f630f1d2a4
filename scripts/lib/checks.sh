#!/usr/bin/env bash
# checks.sh — PASS:/FAIL: lines for the scripts that count their own failures (scripts/control, scripts/browser).
# Sourced, not run. `failures` counts the FAIL lines; the script exits non-zero when it is not 0.

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# check WHAT CMD... — PASS: WHAT if CMD succeeds, else FAIL: WHAT.
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
