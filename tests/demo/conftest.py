"""One demo run shared by the demo tests (it takes a few seconds)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.demo.run import DemoOptions, DemoResult, run_demo
from bot.settings import Settings

START = date(2026, 3, 2)  # a Monday


@pytest.fixture(scope="session")
def demo_result() -> DemoResult:
    return run_demo(Settings(_env_file=None), DemoOptions(start=START, seed=1))
