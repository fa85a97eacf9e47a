#!/usr/bin/env bash
# Installs Debian's headless-capable `chromium` when /usr/bin/chromium is missing, for the
# report's browser test (tests/test_report_browser.py). Safe to run every time: it does
# nothing when Chromium is already there. Needs root (or sudo) and apt-get; anywhere else
# it prints why it did not install and exits 0, so the test skips with that reason.
#   scripts/ensure-chromium.sh          (run-tests.sh calls it before pytest)
set -uo pipefail
CHROMIUM="${LAKECART_CHROMIUM:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM missing and apt-get not available; the browser test will skip" >&2
  exit 0
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "ensure-chromium: $CHROMIUM missing and not root; the browser test will skip" >&2
    exit 0
  fi
fi
echo "ensure-chromium: installing Debian's chromium (first run only, a few minutes)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq chromium >&2; }; then
  echo "ensure-chromium: apt-get install chromium failed; the browser test will skip" >&2
fi
exit 0
