"""Healthie reads per second: the pooled httpx client next to a new connection per call.

The webhook reads one record per event (an appointment, a note, a user) and the checklist a
few more; before the pooled client every call opened its own connection and, against the
real API, its own TLS handshake. This times N `get_user` calls against the loopback fake
Healthie served over TLS (a throwaway self-signed certificate made with `openssl`), with the
adapter's pooled client and, as the baseline, the same N requests with urllib, one
connection (and handshake) each. `--plain` runs it without TLS. Loopback has no network
round trips, so against the real API the gap is larger still.

    .venv/bin/python benchmarks/healthie_client.py [--calls 300] [--plain]
"""

from __future__ import annotations

import argparse
import json
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.platform import healthie_documents as docs
from bot.platform.healthie_api import DEFAULT_API_VERSION, HealthieClient
from tests.fakes.healthie import API_KEY, FakeHealthie


def tls_context(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


CLIENT_TLS: ssl.SSLContext | None = None


def per_call_connection(url: str, calls: int) -> float:
    body = json.dumps(
        {"operationName": "DischargeBotUser", "query": docs.USER_QUERY, "variables": {"id": "4242"}}
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Basic {API_KEY}",
        "AuthorizationSource": "API",
        "Healthie-GraphQL-API-Version": DEFAULT_API_VERSION,
    }
    started = time.perf_counter()
    for _ in range(calls):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10, context=CLIENT_TLS) as response:
            response.read()
    return time.perf_counter() - started


def pooled(url: str, calls: int) -> tuple[float, int]:
    client = HealthieClient(url, API_KEY, timeout=10)
    if CLIENT_TLS is not None:  # the same pooled client, trusting the throwaway certificate
        client._http = httpx.Client(
            headers=client._http.headers,
            timeout=client._http.timeout,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=4),
            verify=CLIENT_TLS,
        )
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
    parser.add_argument("--plain", action="store_true", help="no TLS")
    args = parser.parse_args()
    global CLIENT_TLS
    fake = FakeHealthie().start()
    fake.add_user("4242")
    url = fake.url
    folder = tempfile.TemporaryDirectory()
    if not args.plain:
        server_tls, CLIENT_TLS = tls_context(Path(folder.name))
        assert fake._server is not None
        fake._server.socket = server_tls.wrap_socket(fake._server.socket, server_side=True)
        url = url.replace("http://", "https://")
    try:
        per_call_connection(url, 5)  # warm both paths
        pooled(url, 5)
        fake.connections.clear()
        baseline = per_call_connection(url, args.calls)
        opened_baseline = len(fake.connections)
        fake.connections.clear()
        ours, _ = pooled(url, args.calls)
        opened_ours = len(fake.connections)
    finally:
        fake.stop()
        folder.cleanup()
    over = "plain HTTP" if args.plain else "TLS"
    print(
        f"{args.calls} Healthie reads over {over} (each validated by the fake against the schema)"
    )
    print(
        f"  new connection per call (baseline): {baseline:6.2f} s  "
        f"{args.calls / baseline:7.1f}/s  connections opened: {opened_baseline}"
    )
    print(
        f"  pooled httpx client (ours):         {ours:6.2f} s  "
        f"{args.calls / ours:7.1f}/s  connections opened: {opened_ours}"
    )
    print(f"  speed-up: {baseline / ours:.2f}x")


if __name__ == "__main__":
    main()
