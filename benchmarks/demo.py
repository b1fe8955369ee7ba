"""How long `discharge-bot demo` takes, against its 30-second budget.

    .venv/bin/python benchmarks/demo.py [--runs 3] [--weeks 12]

Prints each run's wall time, the median, and the share of the budget; also how many
messages, clicks and platform events the run drove through the real app.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from datetime import date

from bot.entrypoints.demo.run import DemoOptions, run_demo
from bot.settings import Settings

BUDGET_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=12)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    times = []
    for n in range(args.runs):
        started = time.perf_counter()
        result = run_demo(
            Settings(_env_file=None),
            DemoOptions(weeks=args.weeks, start=date(2026, 3, 2), seed=n + 1),
        )
        times.append(time.perf_counter() - started)
        kinds = [e.kind for e in result.entries]
        print(
            f"run {n + 1}: {times[-1]:5.1f} s  ({kinds.count('message')} messages, "
            f"{kinds.count('click') + kinds.count('submit')} clicks, "
            f"{kinds.count('platform')} platform events, "
            f"{sum(o.reached for o in result.outcomes)}/{len(result.outcomes)} paths ended)"
        )
    median = statistics.median(times)
    print(
        f"median {median:.1f} s against a budget of {BUDGET_SECONDS:.0f} s "
        f"({median / BUDGET_SECONDS:.0%} of it)"
    )


if __name__ == "__main__":
    main()
