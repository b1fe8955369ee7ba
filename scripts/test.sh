#!/usr/bin/env bash
# Lint, type-check, check the import contracts (ARCHITECTURE.md) and run the whole test suite on SQLite and again on
# PostgreSQL (side by side on a machine with two cores or more).
#   TEST_POSTGRES_URL  the server to use (default postgresql://postgres@127.0.0.1:5432/test)
#   REQUIRE_POSTGRES=1 fail (instead of skipping) when that server does not answer; CI sets it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
py=.venv/bin/python
pg_url=${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}

echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== import contracts"; .venv/bin/lint-imports --no-cache
pg_answers() {
  "$py" - "$pg_url" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL at {sys.argv[1]} does not answer: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

sqlite_pass() {
  env -u DATABASE_URL TEST_POSTGRES_URL="$pg_url" "$py" -m pytest -q "$@"
}
# Tests marked `once` pick their own backend and run in the SQLite pass only. Each pass has
# its own temporary folder; the PostgreSQL pass leaves pytest's cache to the SQLite pass.
postgres_pass() {
  DATABASE_URL="$pg_url" TEST_POSTGRES_URL="$pg_url" "$py" -m pytest -q -m "not once" \
    -p no:cacheprovider --basetemp="$(mktemp -d)" "$@"
}

if ! pg_answers; then
  if [ "${REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "REQUIRE_POSTGRES=1 but no PostgreSQL server answers at $pg_url" >&2
    exit 1
  fi
  echo "== tests on SQLite"
  sqlite_pass "$@"
  echo "== SKIPPED the PostgreSQL run: no server answers at $pg_url (set TEST_POSTGRES_URL)"
  exit 0
fi

if [ "$(nproc 2>/dev/null || echo 1)" -lt 2 ]; then
  echo "== tests on SQLite"; sqlite_pass "$@"
  echo "== tests on PostgreSQL ($pg_url)"; postgres_pass "$@"
  exit 0
fi

# Two cores or more: the two passes side by side (each is one process, mostly one core),
# the PostgreSQL pass's report printed after the SQLite pass's.
echo "== tests on SQLite and on PostgreSQL ($pg_url), side by side"
pg_log=$(mktemp)
postgres_pass "$@" >"$pg_log" 2>&1 &
pg_pid=$!
sqlite_status=0
sqlite_pass "$@" || sqlite_status=$?
pg_status=0
wait "$pg_pid" || pg_status=$?
echo "== tests on PostgreSQL ($pg_url)"
cat "$pg_log"
rm -f "$pg_log"
if [ "$sqlite_status" -ne 0 ] || [ "$pg_status" -ne 0 ]; then
  echo "== failed: SQLite pass exit $sqlite_status, PostgreSQL pass exit $pg_status" >&2
  exit 1
fi
