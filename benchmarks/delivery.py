"""Delivery throughput: drain N prompts over C channels, next to the floor Slack allows.

Slack lets a bot post about one message per second per channel (chat.postMessage), so the
least time for N prompts spread evenly over C channels is (ceil(N / C) - 1) seconds: the
floor. This drains a real outbox through the real dispatcher against the loopback fake Web
API (optionally with injected faults) and prints the time, the floor and their ratio.

    .venv/bin/python benchmarks/delivery.py [--prompts 1000] [--channels 200]
                                            [--fault-rate 0.0] [--database-url URL]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import SystemClock
from bot.delivery.outbox import METADATA_EVENT, DeliveryPolicy, Dispatcher, SlackCall
from bot.delivery.slack_client import make_web_client
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, migrate
from storage.models import OutboxMessage
from storage.repository import UnitOfWork
from tests.fakes.slack_api import FakeSlackAPI, Rate, ResetAfter, ResetBefore, ServerError


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, FakeSlackAPI() as fake:
        url = args.database_url or f"sqlite:///{Path(folder) / 'delivery.db'}"
        engine = make_engine(url)
        migrate(engine)
        uow = UnitOfWork(make_session_factory(engine))
        now = datetime.now(UTC)
        with uow() as repo:
            for i in range(args.prompts):
                repo.add(
                    OutboxMessage(
                        idempotency_key=f"bench:{now.timestamp()}:{i}",
                        kind="checkin",
                        recipient_kind="clinician",
                        recipient=f"U{i % args.channels:06d}",
                        payload={},
                        status="pending",
                        deliver_after=now,
                        attempts=0,
                        created_at=now,
                    )
                )
        if args.fault_rate:
            fake.faults(
                "chat.postMessage",
                rate=args.fault_rate,
                seed=1,
                kinds=[Rate(retry_after=1), ServerError(500), ResetBefore(), ResetAfter()],
            )
        settings = Settings(_env_file=None, slack_api_url=fake.url, slack_bot_token="xoxb-bench")
        dispatcher = Dispatcher(
            uow,
            make_web_client(settings, timeout=5),
            lambda row: SlackCall("chat.postMessage", row.recipient or "", f"prompt {row.id}"),
            clock=SystemClock(),
            policy=DeliveryPolicy(
                pace_seconds=1.0, backoff_base_seconds=0.5, backoff_cap_seconds=5
            ),
        )
        started = time.perf_counter()
        report = dispatcher.drain(timeout=600)
        elapsed = time.perf_counter() - started
        delivered = Counter(
            m["metadata"]["event_payload"]["idempotency_key"]
            for c in fake.channels()
            for m in fake.messages(c)
            if (m.get("metadata") or {}).get("event_type") == METADATA_EVENT
        )
        engine.dispose()

    floor = max(math.ceil(args.prompts / args.channels) - 1, 0) * 1.0
    exactly_once = len(delivered) == args.prompts and set(delivered.values()) == {1}
    print(f"prompts={args.prompts} channels={args.channels} fault_rate={args.fault_rate}")
    print(f"{'drain time':>12} {'floor (1/s/channel)':>20} {'ratio':>7} {'exactly once':>13}")
    ratio = f"{elapsed / floor:6.2f}x" if floor else "   n/a"
    print(f"{elapsed:>10.2f} s {floor:>18.2f} s {ratio:>7} {exactly_once!s:>13}")
    print(
        f"sent={len(report.sent)} reconciled={len(report.reconciled)} "
        f"retried={len(report.retried)} dead={len(report.dead)}"
    )


if __name__ == "__main__":
    main()
