"""The README's copy-paste curl example really signs a request the webhook accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.platform.events import PlatformEventType
from tests.platform.conftest import GENERIC_SECRET, WebhookServer

README = Path(__file__).parents[2] / "README.md"


def snippet_script() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.DOTALL)
    signing = [b for b in blocks if "X-Platform-Signature" in b]
    assert len(signing) == 1, "README.md should have one sh block that signs a webhook"
    return signing[0]


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")),
                    reason="needs openssl and curl")
def test_readme_curl_example_is_accepted(webhook_server: WebhookServer) -> None:
    webhook_server.sink.known_clients.add("R-1042")
    script = snippet_script()
    script = re.sub(r"^SECRET=.*$", f"SECRET='{GENERIC_SECRET}'", script, flags=re.MULTILINE)
    script = re.sub(r"^URL=.*$", f"URL='{webhook_server.generic_url}'", script, flags=re.MULTILINE)

    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=20,
                            check=True)

    assert json.loads(result.stdout) == {"ok": True}
    [event] = webhook_server.sink.applied
    assert (event.client_id, event.type) == ("R-1042", PlatformEventType.SESSION_NO_SHOW)
