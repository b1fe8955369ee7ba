"""One demo run shared by the demo and records tests (it takes a few seconds); its database
is kept so `audit` and `export` can be checked against a practice with history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.entrypoints.demo.result import DemoResult
from bot.entrypoints.demo.run import DemoOptions, run_demo
from bot.settings import Settings

START = date(2026, 3, 2)  # a Monday


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "demo.db"


@pytest.fixture(scope="session")
def demo_result(demo_db: Path) -> DemoResult:
    return run_demo(Settings(_env_file=None), DemoOptions(start=START, seed=1, db=demo_db))

