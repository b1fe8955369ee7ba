"""Healthie reads per second: the pooled httpx client next to a new connection per call.

The webhook reads one record per event (an appointment, a note, a user) and the checklist a
few more; before the pooled client every call opened its own connection (and, against the
real API, its own TLS handshake). This times N `get_user` calls against the loopback fake
Healthie with the adapter's pooled client, and the same N requests with urllib, one
connection each (the baseline). Loopback has no TLS, so the real gap is larger.

    .venv/bin/python benchmarks/healthie_client.py [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.platform import healthie_documents as docs
from bot.platform.healthie_api import DEFAULT_API_VERSION, HealthieClient
from tests.fakes.healthie import API_KEY, FakeHealthie


def per_call_connection(url: str, calls: int) -> float:
    body = json.dumps({"operationName": "DischargeBotUser", "query": docs.USER_QUERY,
                       "variables": {"id": "4242"}}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {API_KEY}",
               "AuthorizationSource": "API", "Healthie-GraphQL-API-Version": DEFAULT_API_VERSION}
    started = time.perf_counter()
    for _ in range(calls):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    return time.perf_counter() - started


def pooled(url: str, calls: int) -> tuple[float, int]:
    client = HealthieClient(url, API_KEY, timeout=10)
    started = time.perf_counter()
    for _ in range(calls):
        client.get_user("4242")
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    fake = FakeHealthie().start()
    fake.add_user("4242")
    try:
        per_call_connection(fake.url, 5)  # warm both paths
        pooled(fake.url, 5)
        fake.connections.clear()
        baseline = per_call_connection(fake.url, args.calls)
        opened_baseline = len(fake.connections)
        fake.connections.clear()
        ours, _ = pooled(fake.url, args.calls)
        opened_ours = len(fake.connections)
    finally:
        fake.stop()
    print(f"{args.calls} Healthie reads (each validated by the fake against the schema)")
    print(f"  new connection per call (baseline): {baseline:6.2f} s  "
          f"{args.calls / baseline:7.1f}/s  connections opened: {opened_baseline}")
    print(f"  pooled httpx client (ours):         {ours:6.2f} s  "
          f"{args.calls / ours:7.1f}/s  connections opened: {opened_ours}")
    print(f"  speed-up: {baseline / ours:.2f}x")


if __name__ == "__main__":
    main()
