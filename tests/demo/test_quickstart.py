"""The README's first command: bootstrap, then the demo, to the end."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

#: Its database backend is its own (a SQLite file, or none): the PostgreSQL pass skips it.
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_script_bootstraps_and_runs_the_demo_to_the_end(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CCT_", "DISCHARGE_", "HEALTHIE_", "PLATFORM_", "DATABASE_"))
    }
    page = tmp_path / "demo.html"
    practice_db = ROOT / "discharge-bot.db"
    before = practice_db.stat().st_mtime_ns if practice_db.exists() else None
    done = subprocess.run(
        ["bash", "scripts/quickstart.sh", "--weeks", "3", "--start", "2026-03-02",
         "--html", str(page)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Outcomes after 3 weeks" in done.stdout
    assert "Check-in 1 of 3 is due" in done.stdout
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # the demo never touches the practice's own (default) database
    after = practice_db.stat().st_mtime_ns if practice_db.exists() else None
    assert after == before
