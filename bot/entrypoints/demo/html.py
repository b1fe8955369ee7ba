"""The demo transcript as one self-contained web page that shows each message as Slack would.

Block Kit (section with fields and accessory, actions with buttons and selects, context,
header, divider, input, image as its alt text) and Slack mrkdwn (bold, italic, strike, code,
code blocks, quotes, links, user mentions, emoji shortcodes) are rendered here in plain
HTML and CSS: no network, no external font, script or image. The one small script filters
by client (also from the address: `page.html#R-1042`); it records any script error into the
page (`#script-errors`) so a headless browser's `--dump-dom` shows whether it ran cleanly.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.entrypoints.demo.caseload import PEOPLE
from bot.entrypoints.demo.engine import Entry
from bot.entrypoints.demo.result import DemoResult, outcome_table

EMOJI = {
    "white_check_mark": "\u2705",
    "white_large_square": "\u2b1c",
    "speech_balloon": "\U0001f4ac",
    "zzz": "\U0001f4a4",
    "double_vertical_bar": "\u23f8\ufe0f",
    "raising_hand": "\U0001f64b",
    "information_source": "\u2139\ufe0f",
    "no_entry": "\u26d4",
    "warning": "\u26a0\ufe0f",
    "checklist": "\U0001f4cb",
    "clipboard": "\U0001f4cb",
    "memo": "\U0001f4dd",
    "bell": "\U0001f514",
    "calendar": "\U0001f4c5",
    "wave": "\U0001f44b",
    "x": "\u274c",
    "heavy_check_mark": "\u2714\ufe0f",
    "rotating_light": "\U0001f6a8",
    "hourglass_flowing_sand": "\u23f3",
    "tada": "\U0001f389",
    "door": "\U0001f6aa",
    "arrow_right": "\u27a1\ufe0f",
}

NAMES = {p.slack_id: p.name for p in PEOPLE}

_TOKEN = re.compile(r"<([^<>\n]+)>")
_CODEBLOCK = re.compile(r"```(.+?)```", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")


def _emoji(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _token(inner: str) -> str:
    """One `<...>` of Slack's message syntax as HTML."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        name = NAMES.get(target[1:], label or target[1:])
        return f'<span class="mention">@{html.escape(name)}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{html.escape(label or target[1:])}</span>'
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return f'<span class="mention">@{html.escape(label or word)}</span>'
    shown = html.escape(html.unescape(label or target))
    href = html.escape(html.unescape(target), quote=True)
    return f'<a href="{href}" rel="noreferrer">{shown}</a>'


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (as the app sent it, Slack-escaped) to safe HTML."""
    protected: list[str] = []

    def keep(fragment: str) -> str:
        protected.append(fragment)
        return f"\x00{len(protected) - 1}\x00"

    def plain(segment: str) -> str:
        return html.escape(html.unescape(segment), quote=False)

    # Tokens first (they hold raw URLs), then escape everything else.
    pieces: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        pieces.append(plain(text[last : match.start()]))
        pieces.append(keep(_token(match.group(1))))
        last = match.end()
    pieces.append(plain(text[last:]))
    out = "".join(pieces)
    out = _CODEBLOCK.sub(lambda m: keep(f"<pre>{m.group(1).strip(chr(10))}</pre>"), out)
    out = _INLINE_CODE.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), out)
    out = _BOLD.sub(r"<b>\1</b>", out)
    out = _ITALIC.sub(r"<i>\1</i>", out)
    out = _STRIKE.sub(r"<s>\1</s>", out)
    out = _emoji(out)
    lines = out.split("\n")
    rendered: list[str] = []
    quote: list[str] = []
    for line in lines:
        if line.startswith("&gt;"):
            quote.append(line[4:].removeprefix(" "))
            continue
        if quote:
            rendered.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote = []
        rendered.append(line + "<br>")
    if quote:
        rendered.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    out = "".join(rendered)
    out = out.removesuffix("<br>")
    return re.sub("\x00(\\d+)\x00", lambda m: protected[int(m.group(1))], out)


def text_object(obj: Mapping[str, Any] | None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")))
    value = html.escape(str(obj.get("text", "")))
    return _emoji(value) if obj.get("emoji", True) else value


def element(el: Mapping[str, Any]) -> str:
    kind = el.get("type")
    if kind == "button":
        style = el.get("style")
        cls = "btn" + (f" btn-{style}" if style in {"primary", "danger"} else "")
        return f'<span class="{cls}">{text_object(el.get("text"))}</span>'
    if kind in {"static_select", "external_select", "users_select", "conversations_select"}:
        chosen = el.get("initial_option") or {}
        label = text_object(chosen.get("text")) if chosen else text_object(el.get("placeholder"))
        return f'<span class="select">{label or "Select…"}<span class="caret">&#9662;</span></span>'
    if kind == "overflow":
        return '<span class="btn overflow">&#8943;</span>'
    if kind == "datepicker":
        day = html.escape(str(el.get("initial_date") or "Pick a date"))
        return f'<span class="select">{day}<span class="caret">&#128197;</span></span>'
    if kind == "image":
        return f'<span class="img-alt">[{html.escape(str(el.get("alt_text", "image")))}]</span>'
    if kind in {"mrkdwn", "plain_text"}:
        return text_object(el)
    return f'<span class="unknown">[{html.escape(str(kind))}]</span>'


def input_element(el: Mapping[str, Any]) -> str:
    kind = el.get("type")
    if kind == "plain_text_input":
        value = html.escape(str(el.get("initial_value") or ""))
        hint = text_object(el.get("placeholder"))
        body = value or f'<span class="placeholder">{hint}</span>'
        cls = "field multiline" if el.get("multiline") else "field"
        return f'<div class="{cls}">{body}</div>'
    return f'<div class="field-inline">{element(el)}</div>'


def block(b: Mapping[str, Any]) -> str:
    kind = b.get("type")
    if kind == "section":
        parts = []
        if b.get("text"):
            parts.append(f'<div class="text">{text_object(b["text"])}</div>')
        if b.get("fields"):
            fields = "".join(f'<div class="field-cell">{text_object(f)}</div>' for f in b["fields"])
            parts.append(f'<div class="fields">{fields}</div>')
        body = "".join(parts)
        if b.get("accessory"):
            accessory = f'<div class="accessory">{element(b["accessory"])}</div>'
            return f'<div class="block section with-accessory"><div>{body}</div>{accessory}</div>'
        return f'<div class="block section">{body}</div>'
    if kind == "actions":
        buttons = "".join(element(e) for e in b.get("elements") or [])
        return f'<div class="block actions">{buttons}</div>'
    if kind == "context":
        items = "".join(f"<span>{element(e)}</span>" for e in b.get("elements") or [])
        return f'<div class="block context">{items}</div>'
    if kind == "header":
        return f'<div class="block header">{text_object(b.get("text"))}</div>'
    if kind == "divider":
        return '<hr class="block divider">'
    if kind == "input":
        optional = ' <span class="optional">(optional)</span>' if b.get("optional") else ""
        label = f'<div class="label">{text_object(b.get("label"))}{optional}</div>'
        hint = f'<div class="hint">{text_object(b["hint"])}</div>' if b.get("hint") else ""
        return f'<div class="block input">{label}{input_element(b.get("element") or {})}{hint}</div>'
    if kind == "image":
        alt = html.escape(str(b.get("alt_text", "image")))
        return f'<div class="block image img-alt">[image: {alt}]</div>'
    if kind == "rich_text":
        words = json.dumps(b.get("elements"))[:200]
        return f'<div class="block text">{html.escape(words)}</div>'
    return f'<div class="block unknown">[{html.escape(str(kind))} block]</div>'


def blocks(items: Iterable[Mapping[str, Any]]) -> str:
    return "".join(block(b) for b in items)


def _time(entry: Entry) -> str:
    local = entry.at.astimezone(ZoneInfo(entry.zone))
    return local.strftime("%a %d %b, %H:%M %Z")


def _entry(entry: Entry, shown: dict[tuple[str, str], list[str]]) -> str:
    """One entry as HTML. `shown` remembers each message's blocks, so an in-place update
    shows only what changed (as Slack changes the message rather than posting a new one)."""
    chart = html.escape(entry.chart_id or "")
    if entry.kind in {"message", "update"}:
        key = (entry.where, entry.summary)
        now = [json.dumps(b, sort_keys=True) for b in entry.blocks]
        before = shown.get(key)
        shown[key] = now
        if entry.kind == "update" and before is not None:
            changed = [b for b, raw in zip(entry.blocks, now, strict=True) if raw not in before]
            if not changed:
                return ""
            gone = any('"type": "actions"' in raw for raw in before) and not any(
                '"type": "actions"' in raw for raw in now
            )
            note = "edited in place; its buttons are gone" if gone else "edited in place"
            entry = replace(entry, blocks=tuple(changed), title=note)
    attrs = f'class="entry {entry.kind}" data-client="{chart}"'
    when = html.escape(_time(entry))
    if entry.kind in {"message", "update", "ephemeral"}:
        edited = (
            f' <span class="edited">({html.escape(entry.title or "edited")}; now also:)</span>'
            if entry.kind == "update"
            else ""
        )
        only_you = (
            '<div class="only-you">Only visible to you</div>' if entry.kind == "ephemeral" else ""
        )
        body = blocks(entry.blocks) if entry.blocks else mrkdwn(entry.summary)
        return (
            f"<article {attrs}>"
            f'<div class="where">{html.escape(entry.where)}</div>'
            f'<div class="msg"><div class="avatar">DB</div><div class="content">'
            f'<div class="meta"><b>discharge-bot</b> <span class="app">APP</span> '
            f'<span class="ts">{when}</span>{edited}</div>{only_you}'
            f"{body}</div></div></article>"
        )
    if entry.kind == "home":
        return (
            f"<article {attrs}>"
            f'<div class="where">{html.escape(entry.where)}</div>'
            f'<div class="home"><div class="home-tabs"><b>Home</b><span>Messages</span>'
            f'<span>About</span><span class="ts">{when}</span></div>'
            f'<div class="home-body">{blocks(entry.blocks)}</div></div></article>'
        )
    if entry.kind == "modal":
        return (
            f"<article {attrs}>"
            f'<div class="where">{html.escape(entry.where)}</div>'
            f'<div class="modal"><div class="modal-title">{html.escape(entry.title or "")}'
            f'<span class="ts">{when}</span></div>'
            f'<div class="modal-body">{blocks(entry.blocks)}</div>'
            '<div class="modal-foot"><span class="btn">Cancel</span>'
            '<span class="btn btn-primary">Submit</span></div></div></article>'
        )
    icon = {"click": "&#9758;", "submit": "&#9998;", "platform": "&#8644;"}.get(
        entry.kind, "&#8226;"
    )
    who = html.escape(entry.actor if entry.kind != "platform" else "Platform webhook")
    about = f' <span class="chart">{chart}</span>' if chart else ""
    return (
        f'<div {attrs}><span class="icon">{icon}</span> <span class="ts">{when}</span> '
        f"<b>{who}</b> {html.escape(entry.summary)}{about}</div>"
    )


CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.46668 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif;color:#1d1c1d;background:#f8f8f8}
header.top{background:#3f0e40;color:#fff;padding:14px 24px}
header.top h1{font-size:18px;margin:0 0 4px}
header.top p{margin:0;opacity:.85;font-size:13px}
main{max-width:860px;margin:0 auto;padding:16px 24px 48px}
.controls{margin:12px 0 16px;font-size:14px}
.controls select{font:inherit;padding:4px 8px;border-radius:6px;border:1px solid #bbb}
table.outcomes{border-collapse:collapse;width:100%;font-size:13px;background:#fff;border:1px solid #ddd;border-radius:8px}
table.outcomes th,table.outcomes td{padding:6px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
table.outcomes th{background:#f4ede4}
.ok{color:#007a5a;font-weight:700}.todo{color:#a0521d;font-weight:700}
article.entry{background:#fff;border:1px solid #e2e2e2;border-radius:8px;margin:12px 0;padding:8px 16px 12px}
.where{font-size:12px;color:#616061;font-weight:700;margin-bottom:6px}
.msg{display:flex;gap:8px}
.avatar{flex:0 0 36px;height:36px;border-radius:6px;background:#2f4858;color:#fff;font-weight:700;font-size:13px;display:flex;align-items:center;justify-content:center}
.content{flex:1;min-width:0}
.meta{font-size:15px}.meta .ts,.ts{color:#616061;font-size:12px;margin-left:4px}
.app{background:#e8e8e8;color:#616061;font-size:10px;font-weight:700;padding:1px 3px;border-radius:2px}
.edited{color:#616061;font-size:12px}
.only-you{color:#616061;font-size:12px;font-style:italic}
.block{margin:4px 0}
.section.with-accessory{display:flex;justify-content:space-between;gap:12px}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}
.btn{display:inline-block;border:1px solid #bbbabb;border-radius:4px;padding:3px 12px;font-size:14px;font-weight:700;background:#fff;color:#1d1c1d;white-space:nowrap}
.btn-primary{background:#007a5a;border-color:#007a5a;color:#fff}
.btn-danger{background:#e01e5a;border-color:#e01e5a;color:#fff}
.select{display:inline-block;border:1px solid #bbbabb;border-radius:4px;padding:3px 10px;font-size:14px;color:#616061;background:#fff}
.caret{margin-left:14px}
.context{font-size:12px;color:#616061;display:flex;flex-wrap:wrap;gap:8px}
.header{font-size:18px;font-weight:900}
hr.divider{border:0;border-top:1px solid #ddd;margin:8px 0}
pre{background:#f8f8f8;border:1px solid #e2e2e2;border-radius:4px;padding:8px;white-space:pre-wrap;font:12px/1.5 Monaco,Menlo,Consolas,"DejaVu Sans Mono",monospace;margin:4px 0}
code{background:#f3f3f3;border:1px solid #e2e2e2;border-radius:3px;padding:0 3px;color:#e01e5a;font:12px Monaco,Menlo,Consolas,"DejaVu Sans Mono",monospace}
blockquote{border-left:4px solid #ddd;margin:4px 0;padding:0 0 0 10px}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
a{color:#1264a3;text-decoration:none}
div.entry{font-size:13px;color:#454245;margin:6px 4px;padding:4px 8px;border-left:3px solid #ddd}
div.entry.click,div.entry.submit{border-left-color:#007a5a}
div.entry.platform{border-left-color:#1264a3}
.chart{background:#eee;border-radius:3px;padding:0 4px;font-size:12px}
.modal{border:1px solid #ccc;border-radius:8px;max-width:520px;box-shadow:0 4px 12px rgba(0,0,0,.12)}
.modal-title{font-weight:900;font-size:18px;padding:12px 16px;border-bottom:1px solid #e2e2e2}
.modal-body{padding:8px 16px}
.modal-foot{display:flex;justify-content:flex-end;gap:8px;padding:10px 16px;border-top:1px solid #e2e2e2}
.input .label{font-weight:700;margin-top:6px}.optional,.hint,.placeholder{color:#868686;font-weight:400;font-size:13px}
.field{border:1px solid #bbb;border-radius:4px;padding:6px 8px;min-height:34px;background:#fff}
.field.multiline{min-height:64px}
.img-alt,.unknown{color:#868686}
.home{border:1px solid #ddd;border-radius:8px}
.home-tabs{display:flex;gap:16px;padding:8px 16px;border-bottom:1px solid #e2e2e2;font-size:14px;color:#616061}
.home-tabs b{color:#1d1c1d;border-bottom:2px solid #1264a3}
.home-body{padding:8px 16px}
#script-errors{color:#e01e5a;font-weight:700}
.hidden{display:none}
"""

SCRIPT = """
(function () {
  var errors = [];
  var box = document.getElementById('script-errors');
  window.addEventListener('error', function (e) {
    errors.push(String(e.message || e));
    box.textContent = 'Script errors: ' + errors.join(' | ');
    document.body.setAttribute('data-script', 'error');
  });
  var pick = document.getElementById('client-filter');
  function show(want) {
    document.querySelectorAll('.entry').forEach(function (node) {
      var chart = node.getAttribute('data-client');
      node.classList.toggle('hidden', want !== '' && chart !== want);
    });
  }
  pick.addEventListener('change', function () { show(pick.value); });
  var wanted = decodeURIComponent(window.location.hash.slice(1));
  if (wanted && pick.querySelector('option[value="' + wanted.replace(/"/g, '') + '"]')) {
    pick.value = wanted;
    show(wanted);
  }
  var count = document.querySelectorAll('article.entry').length;
  document.getElementById('shown').textContent = count + ' messages';
  if (!errors.length) { document.body.setAttribute('data-script', 'ok'); }
})();
"""


def render_html(result: DemoResult) -> str:
    zone = ZoneInfo(result.practice_zone)

    def day(value: datetime) -> str:
        return value.astimezone(zone).strftime("%a %d %b %Y")

    rows = []
    for o in result.outcomes:
        mark = '<span class="ok">yes</span>' if o.reached else '<span class="todo">not yet</span>'
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(v)}</td>"
                for v in (o.client.chart_id, o.client.clinician.name, o.client.path,
                          str(o.checkins), o.story)
            )
            + f"<td>{mark}</td></tr>"
        )
    options = "".join(
        f'<option value="{html.escape(o.client.chart_id)}">{html.escape(o.client.chart_id)} '
        f"({html.escape(o.client.path)})</option>"
        for o in result.outcomes
    )
    shown: dict[tuple[str, str], list[str]] = {}
    entries = "\n".join(_entry(e, shown) for e in result.entries)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>discharge-bot demo: transcript</title>
<style>{CSS}</style></head>
<body data-script="pending">
<header class="top"><h1>discharge-bot demo &mdash; what Slack showed, week by week</h1>
<p>{html.escape(day(result.start))} to {html.escape(day(result.end))} (virtual time).
Synthetic clients; every message below is what the real bot sent to the (fake) Slack,
rendered as Slack shows it. Times are in the reader's own zone.</p></header>
<main>
<div id="script-errors" role="alert"></div>
<h2>Outcomes</h2>
<table class="outcomes"><thead><tr><th>Client</th><th>Clinician</th><th>Path</th>
<th>Check-ins</th><th>What happened</th><th>End reached</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<pre class="hidden" id="outcomes-text">{html.escape(outcome_table(result.outcomes))}</pre>
<div class="controls"><label>Show client <select id="client-filter">
<option value="">all clients</option>{options}</select></label>
<span id="shown"></span></div>
<h2>Timeline</h2>
{entries}
</main>
<script>{SCRIPT}</script>
</body></html>
"""


def write_html(result: DemoResult, path: Path) -> None:
    path.write_text(render_html(result), encoding="utf-8")
