#!/usr/bin/env bash
# Install, migrate the embedded SQLite database, import examples/caseload.csv, show the caseload
# and run one scheduler pass. Safe to run again: the import and the tick are idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
export DATABASE_URL=${DATABASE_URL:-sqlite:///discharge-bot.db}
bot=.venv/bin/discharge-bot
$bot migrate
$bot import examples/caseload.csv
echo
$bot status
echo
$bot tick
