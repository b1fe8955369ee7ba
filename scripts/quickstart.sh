#!/usr/bin/env bash
# Install discharge-bot into .venv, then run the demo: the real bot against a fake Slack and a
# fake clinical platform on this machine, a synthetic caseload through 12 virtual weeks, on a
# throw-away SQLite database. No network, no tokens. Extra arguments go to `discharge-bot demo`
# (e.g. `--html demo.html`, `--weeks 6`, `--seed 7`, `--speed 7`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
exec .venv/bin/discharge-bot demo "$@"
