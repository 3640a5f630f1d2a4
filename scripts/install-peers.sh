#!/usr/bin/env bash
# install-peers.sh — install the third-party "peers" that Casty's end-to-end tests talk to:
# Icecast 2 and ffmpeg as the upstream, and mpg123, ffmpeg, VLC (cvlc) and streamripper as listeners
# (see shared/DESIGN.md, "What counts as done"), plus curl and iproute2 (ss) used by the scripts,
# libsrt1.5-gnutls (which casty-cli server loads for --srt-port, and ffmpeg uses to publish over SRT), and
# ezstream and liquidsoap as sources publishing to a Casty node (scripts/station/).
#
# Usage: sudo scripts/install-peers.sh        (CI runs it as root, with no stdin)
#
# - Idempotent: when every package is already installed it does nothing at all (no apt-get update).
# - Never prompts: DEBIAN_FRONTEND=noninteractive, icecast2's debconf questions are preseeded, and
#   dpkg keeps existing config files.
# - Leaves no system Icecast running: service starts during the install are refused with a temporary
#   policy-rc.d, and afterwards the icecast2 service is stopped and disabled in case anything started it.
#   The tests start their own Icecast on a free loopback port (scripts/lib/peers.sh).
set -euo pipefail

PACKAGES=(icecast2 ffmpeg libsrt1.5-gnutls libssl3 librtmp1 mpg123 vlc-bin vlc-plugin-base streamripper curl iproute2 ezstream liquidsoap chromium nginx-light openssl)

# Is a Debian package fully installed?
is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# Stop and disable the icecast2 system service (it would hold port 8000). Harmless when absent.
stop_system_icecast() {
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl stop icecast2 >/dev/null 2>&1 || true
        systemctl disable icecast2 >/dev/null 2>&1 || true
    fi
    if [ -x /etc/init.d/icecast2 ]; then
        /etc/init.d/icecast2 stop >/dev/null 2>&1 || true
        update-rc.d icecast2 disable >/dev/null 2>&1 || true
    fi
    # Without systemd or init scripts a daemon may still be around: end only the one that the system
    # service started (it runs with the package's own config file).
    local pid
    for pid in $(pgrep -x icecast2 2>/dev/null || true); do
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '/etc/icecast2/icecast.xml'; then
            kill "$pid" 2>/dev/null || true
        fi
    done
}

missing=()
for p in "${PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-peers: all present (${PACKAGES[*]})"
    stop_system_icecast
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-peers: need root to install: ${missing[*]}" >&2
    exit 1
fi

echo "install-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Answer icecast2's debconf questions up front: "configure now?" → no (we write our own config per test).
if command -v debconf-set-selections >/dev/null 2>&1; then
    debconf-set-selections <<'SEL'
icecast2 icecast2/icecast-setup boolean false
SEL
fi

# Refuse service starts (invoke-rc.d honours policy-rc.d exit code 101) while packages install,
# unless a policy-rc.d is already in place, which we then leave alone.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from casty scripts/install-peers.sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" </dev/null

stop_system_icecast

for p in "${PACKAGES[@]}"; do
    is_installed "$p" || { echo "install-peers: $p did not install" >&2; exit 1; }
done
echo "install-peers: done"
