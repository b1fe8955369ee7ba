#!/usr/bin/env bash
# Regenerate docs/demo-transcript.png (the README's picture of the demo) in headless Chromium.
# Needs the chromium package (Debian: apt-get install chromium fonts-noto-color-emoji).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/discharge-bot demo --start 2026-03-02 --seed 1 --html "$tmp/demo.html" > /dev/null
chart=$(.venv/bin/python -c 'from bot.entrypoints.demo.caseload import demo_clients; print(demo_clients(1)[0].chart_id)')
chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
  --no-first-run --user-data-dir="$tmp/profile" --window-size=900,3000 \
  --screenshot="$PWD/docs/demo-transcript.png" "file://$tmp/demo.html#$chart" 2>/dev/null
echo "wrote docs/demo-transcript.png"
