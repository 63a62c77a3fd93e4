#!/usr/bin/env bash
# The web app in a real browser: Debian's chromium driven by Python Playwright
# (e2e/browser/test_web.py: sign-in, labels bought with a double click and with the keyboard
# alone, search, tracking, tokens, team, settings, and axe-core on every main page).
#
#   CONSIGN_BIN           the binary to test (default: target/debug/consign; not built here)
#   SCREENSHOTS=1         also writes docs/screenshots/*.png
#   BROWSER_DATABASE_URL  an empty PostgreSQL database instead of SQLite (optional)
#   extra arguments go to pytest (e.g. -k keyboard, -x)
set -euo pipefail
cd "$(dirname "$0")/.."

export CONSIGN_BIN="${CONSIGN_BIN:-target/debug/consign}"
[[ "$CONSIGN_BIN" = /* ]] || CONSIGN_BIN="$PWD/$CONSIGN_BIN"
if [[ ! -x "$CONSIGN_BIN" ]]; then
  echo "$CONSIGN_BIN is missing: cargo build -p consign --bin consign first" >&2
  exit 1
fi

# Debian's chromium (Playwright's own browser downloads are not used).
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  echo "== installing chromium (apt)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi

VENV=target/browser-venv
REQS=e2e/browser/requirements.txt
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "== making $VENV"
  python3 -m venv "$VENV"
fi
# Reinstalled only when the pinned requirements change.
if ! cmp -s "$REQS" "$VENV/requirements.installed"; then
  echo "== installing $REQS"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/requirements.installed"
fi

echo "== browser tests ($("$CHROMIUM" --version 2>/dev/null | head -1), $CONSIGN_BIN)"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ beside the test
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider e2e/browser/test_web.py "$@"
