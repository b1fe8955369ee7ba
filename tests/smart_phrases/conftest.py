"""Every test here is pure or makes its own SQLite database: the PostgreSQL pass of
scripts/test.sh would run it again unchanged, so it runs once."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.once)
