"""The demo's --html page: Slack's Block Kit and mrkdwn as HTML, checked in headless Chromium."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from bot.entrypoints.demo.html import block, mrkdwn, render_html
from bot.entrypoints.demo.result import DemoResult

#: Its database backend is its own (a SQLite file, or none): the PostgreSQL pass skips it.
pytestmark = pytest.mark.once


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    reason = (
        "headless Chromium is not installed (Debian: apt-get install chromium); "
        ".ci/run installs it"
    )
    if os.environ.get("REQUIRE_CHROMIUM") == "1":
        pytest.fail(reason + ", but REQUIRE_CHROMIUM=1")
    pytest.skip(reason)


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--hide-scrollbars", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_mrkdwn_renders_slack_formatting_and_escapes_everything_else() -> None:
    html = mrkdwn("*Check-in 1* is due for <@U0DEMOCLIN1> &lt;script&gt; _soon_ `R-1` ~old~")
    assert "<b>Check-in 1</b>" in html
    assert '<span class="mention">@Dana Whitfield</span>' in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert "<i>soon</i>" in html
    assert "<code>R-1</code>" in html
    assert "<s>old</s>" in html
    assert mrkdwn(">Hi\n>there") == "<blockquote>Hi<br>there</blockquote>"
    assert mrkdwn("```a *b*```") == "<pre>a *b*</pre>"
    assert mrkdwn(":white_check_mark: done").startswith("\u2705")
    assert 'href="https://x.example/?a=1&amp;b=2"' in mrkdwn("<https://x.example/?a=1&amp;b=2|link>")


def test_blocks_render_as_slack_shows_them() -> None:
    actions = block({"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Mark as sent"},
         "style": "primary", "action_id": "a"},
        {"type": "static_select", "placeholder": {"type": "plain_text", "text": "Snooze…"},
         "action_id": "b", "options": []},
    ]})
    assert '<span class="btn btn-primary">Mark as sent</span>' in actions
    assert "Snooze…" in actions
    assert 'class="select"' in actions
    assert block({"type": "divider"}) == '<hr class="block divider">'
    assert "Discharge" in block({"type": "header", "text": {"type": "plain_text", "text": "Discharge"}})
    context = block({"type": "context", "elements": [{"type": "mrkdwn", "text": "*by* x"}]})
    assert 'class="block context"' in context
    assert "<b>by</b>" in context
    section = block({"type": "section", "text": {"type": "mrkdwn", "text": "hi"},
                     "fields": [{"type": "mrkdwn", "text": "*A*"}],
                     "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Go"}}})
    assert "with-accessory" in section
    assert "<b>A</b>" in section
    assert ">Go<" in section
    field = block({"type": "input", "label": {"type": "plain_text", "text": "Focus"},
                   "element": {"type": "plain_text_input", "initial_value": "<b>x</b>"}})
    assert "Focus" in field
    assert "&lt;b&gt;x&lt;/b&gt;" in field


def test_page_is_self_contained(demo_result: DemoResult) -> None:
    page = render_html(demo_result)
    assert "http://" not in page.replace('href="http', "")  # no fetched resource
    for tag in ("<link", "<img", "<iframe", "src="):
        assert tag not in page
    posted = sum(e.kind in {"message", "ephemeral", "modal", "home"} for e in demo_result.entries)
    updates = sum(e.kind == "update" for e in demo_result.entries)
    # every post is shown; an in-place edit shows only what changed (when something did)
    assert posted <= page.count('<article class="entry') <= posted + updates
    assert page.count('class="entry click"') == sum(e.kind == "click" for e in demo_result.entries)


def test_page_runs_without_script_errors_in_headless_chromium(
    demo_result: DemoResult, tmp_path: Path
) -> None:
    page = tmp_path / "demo.html"
    page.write_text(render_html(demo_result), encoding="utf-8")
    done = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    dom = done.stdout
    assert 'data-script="ok"' in dom, done.stderr[-2000:]
    assert '<div id="script-errors" role="alert"></div>' in dom
    messages = render_html(demo_result).count('<article class="entry')
    assert f'<span id="shown">{messages} messages</span>' in dom  # the script ran to its end


def test_a_script_error_would_be_caught(demo_result: DemoResult, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    broken = render_html(demo_result).replace(
        "</body>", "<script>setTimeout(function(){ undefinedFunction(); }, 0);</script></body>"
    )
    page.write_text(broken, encoding="utf-8")
    dom = run_chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri()).stdout
    assert 'data-script="error"' in dom
    assert "undefinedFunction" in dom


def test_screenshot_of_the_page_shows_the_messages(demo_result: DemoResult, tmp_path: Path) -> None:
    page = tmp_path / "demo.html"
    page.write_text(render_html(demo_result), encoding="utf-8")
    shot = tmp_path / "demo.png"
    done = run_chromium(tmp_path, "--window-size=1000,1600", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 1600)
    assert len(data) > 60_000  # a page of rendered messages, not a blank one


def test_readme_shows_the_committed_screenshot() -> None:
    root = Path(__file__).resolve().parents[2]
    assert "docs/demo-transcript.png" in (root / "README.md").read_text(encoding="utf-8")
    png = root / "docs" / "demo-transcript.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
