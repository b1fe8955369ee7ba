#!/usr/bin/env bash
# Lint, type-check, check the import contracts (ARCHITECTURE.md) and run the whole test suite on SQLite, then again on PostgreSQL.
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
echo "== tests on SQLite"
env -u DATABASE_URL TEST_POSTGRES_URL="$pg_url" "$py" -m pytest -q "$@"

if "$py" - "$pg_url" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL at {sys.argv[1]} does not answer: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== tests on PostgreSQL ($pg_url)"
  # tests marked `once` pick their own backend and already ran above
  DATABASE_URL="$pg_url" TEST_POSTGRES_URL="$pg_url" "$py" -m pytest -q -m "not once" "$@"
elif [ "${REQUIRE_POSTGRES:-0}" = "1" ]; then
  echo "REQUIRE_POSTGRES=1 but no PostgreSQL server answers at $pg_url" >&2
  exit 1
else
  echo "== SKIPPED the PostgreSQL run: no server answers at $pg_url (set TEST_POSTGRES_URL)"
fi
