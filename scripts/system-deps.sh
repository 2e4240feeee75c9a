#!/usr/bin/env bash
# System packages the browser tests need: Debian's Chromium, a CJK font and npm (axe-core).
# Idempotent: does nothing when they are present.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# npm fetches axe-core (MPL-2.0) for the accessibility scan in tests/test_ui_browser.py.
command -v npm >/dev/null 2>&1 || need+=(npm)
fc-list 2>/dev/null | grep -qiE "wenquanyi|noto.*cjk" || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them as root: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}" >&2
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
