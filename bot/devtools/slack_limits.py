"""Slack's Block Kit and message limits, enforced by the fake Web API as Slack enforces them.

Numbers from Slack's reference (Block Kit blocks, block elements, composition objects, views,
chat.postMessage / chat.update, message metadata). A payload that breaks one is answered
``ok: false`` with the error Slack gives (``invalid_blocks`` with the reason in
``response_metadata.messages``; ``msg_too_long``; ``invalid_metadata_format``; ...), so a test
cannot pass on a message Slack would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MESSAGE_BLOCKS = 50  # chat.postMessage / chat.update
VIEW_BLOCKS = 100  # modals and App Home
MESSAGE_TEXT = 40_000
SECTION_TEXT = 3000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BLOCK_ID = 255
ACTION_ID = 255
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
PLACEHOLDER = 150
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
INPUT_LABEL = 2000
INPUT_HINT = 2000
TEXT_INPUT_MAX = 3000
VIEW_TITLE = 24
VIEW_SUBMIT = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255
METADATA_BYTES = 8000  # generous bound; Slack refuses larger payloads with metadata_too_large

Json = dict[str, Any]


class Refused(Exception):
    """What Slack answers: an error code and the human-readable reasons."""

    def __init__(self, error: str, *reasons: str) -> None:
        super().__init__(error)
        self.error = error
        self.reasons = list(reasons)

    def answer(self) -> Json:
        answer: Json = {"ok": False, "error": self.error}
        if self.reasons:
            answer["errors"] = self.reasons
            answer["response_metadata"] = {"messages": [f"[ERROR] {r}" for r in self.reasons]}
        return answer


def check_message(body: Mapping[str, Any]) -> None:
    """chat.postMessage / chat.update / chat.postEphemeral arguments."""
    text = body.get("text")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT:
        raise Refused("msg_too_long")
    blocks = body.get("blocks")
    if blocks is not None:
        check_blocks(blocks, limit=MESSAGE_BLOCKS)
    if body.get("metadata") is not None:
        check_metadata(body["metadata"])


def check_view(view: Mapping[str, Any]) -> None:
    problems: list[str] = []
    title = view.get("title")
    if isinstance(title, Mapping):
        _length(problems, "title", title.get("text"), VIEW_TITLE)
    for key in ("submit", "close"):
        if isinstance(view.get(key), Mapping):
            _length(problems, key, view[key].get("text"), VIEW_SUBMIT)
    _length(problems, "private_metadata", view.get("private_metadata"), PRIVATE_METADATA)
    _length(problems, "callback_id", view.get("callback_id"), CALLBACK_ID)
    if problems:
        raise Refused("invalid_arguments", *problems)
    check_blocks(view.get("blocks") or [], limit=VIEW_BLOCKS)


def check_metadata(metadata: Any) -> None:
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("event_type"), str):
        raise Refused("invalid_metadata_format")
    if not isinstance(metadata.get("event_payload"), Mapping):
        raise Refused("invalid_metadata_schema")
    if len(json.dumps(metadata)) > METADATA_BYTES:
        raise Refused("metadata_too_large")


def check_blocks(blocks: Any, *, limit: int) -> None:
    if not isinstance(blocks, list):
        raise Refused("invalid_blocks_format")
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"must provide no more than {limit} items [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            problems.append(f"must be a block object [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            _length(problems, f"{where}/block_id", block_id, BLOCK_ID)
            if block_id in block_ids:
                problems.append(f"duplicate block_id {block_id!r} [json-pointer:{where}]")
            block_ids.add(str(block_id))
        _check_block(problems, block, where)
    if problems:
        raise Refused("invalid_blocks", *problems)


def _check_block(problems: list[str], block: Mapping[str, Any], where: str) -> None:
    kind = block["type"]
    elements: list[Any] = []
    if kind == "section":
        text = block.get("text")
        if text is None and not block.get("fields"):
            problems.append(f"section needs text or fields [json-pointer:{where}]")
        if isinstance(text, Mapping):
            _length(problems, f"{where}/text", text.get("text"), SECTION_TEXT, minimum=1)
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            problems.append(f"must provide no more than {SECTION_FIELDS} items "
                            f"[json-pointer:{where}/fields]")
        for i, item in enumerate(fields):
            if isinstance(item, Mapping):
                _length(problems, f"{where}/fields/{i}", item.get("text"), SECTION_FIELD_TEXT,
                        minimum=1)
        if block.get("accessory"):
            elements.append(block["accessory"])
    elif kind == "header":
        text = block.get("text")
        _length(problems, f"{where}/text", text.get("text") if isinstance(text, Mapping) else None,
                HEADER_TEXT, minimum=1)
    elif kind == "context":
        items = block.get("elements") or []
        if not items or len(items) > CONTEXT_ELEMENTS:
            problems.append(f"must provide 1 to {CONTEXT_ELEMENTS} items "
                            f"[json-pointer:{where}/elements]")
        for i, item in enumerate(items):
            if isinstance(item, Mapping) and item.get("type") in ("mrkdwn", "plain_text"):
                _length(problems, f"{where}/elements/{i}", item.get("text"), SECTION_TEXT,
                        minimum=1)
    elif kind == "actions":
        elements = list(block.get("elements") or [])
        if not elements or len(elements) > ACTIONS_ELEMENTS:
            problems.append(f"must provide 1 to {ACTIONS_ELEMENTS} items "
                            f"[json-pointer:{where}/elements]")
    elif kind == "input":
        label = block.get("label")
        _length(problems, f"{where}/label", label.get("text") if isinstance(label, Mapping)
                else None, INPUT_LABEL, minimum=1)
        hint = block.get("hint")
        if isinstance(hint, Mapping):
            _length(problems, f"{where}/hint", hint.get("text"), INPUT_HINT)
        if isinstance(block.get("element"), Mapping):
            elements.append(block["element"])
    action_ids: set[str] = set()
    for i, element in enumerate(elements):
        if not isinstance(element, Mapping):
            continue
        spot = f"{where}/elements/{i}"
        action_id = element.get("action_id")
        if action_id is not None:
            _length(problems, f"{spot}/action_id", action_id, ACTION_ID)
            if action_id in action_ids:
                problems.append(f"duplicate action_id {action_id!r}: action_id must be unique "
                                f"within the containing block [json-pointer:{spot}]")
            action_ids.add(str(action_id))
        _check_element(problems, element, spot)


def _check_element(problems: list[str], element: Mapping[str, Any], where: str) -> None:
    kind = element.get("type")
    if kind == "button":
        text = element.get("text")
        _length(problems, f"{where}/text", text.get("text") if isinstance(text, Mapping)
                else None, BUTTON_TEXT, minimum=1)
        _length(problems, f"{where}/value", element.get("value"), BUTTON_VALUE)
        _length(problems, f"{where}/url", element.get("url"), BUTTON_URL)
    elif kind in ("static_select", "multi_static_select", "overflow", "radio_buttons",
                  "checkboxes"):
        options = element.get("options") or []
        groups = element.get("option_groups") or []
        if not options and not groups:
            problems.append(f"must provide options [json-pointer:{where}/options]")
        if len(options) > SELECT_OPTIONS:
            problems.append(f"must provide no more than {SELECT_OPTIONS} items "
                            f"[json-pointer:{where}/options]")
        for i, option in enumerate(options):
            if isinstance(option, Mapping):
                text = option.get("text")
                _length(problems, f"{where}/options/{i}/text",
                        text.get("text") if isinstance(text, Mapping) else None, OPTION_TEXT,
                        minimum=1)
                _length(problems, f"{where}/options/{i}/value", option.get("value"),
                        OPTION_VALUE, minimum=1)
    elif kind == "plain_text_input":
        maximum = element.get("max_length")
        if isinstance(maximum, int) and maximum > TEXT_INPUT_MAX:
            problems.append(f"max_length must be at most {TEXT_INPUT_MAX} "
                            f"[json-pointer:{where}/max_length]")
    placeholder = element.get("placeholder")
    if isinstance(placeholder, Mapping):
        _length(problems, f"{where}/placeholder", placeholder.get("text"), PLACEHOLDER)
    confirm = element.get("confirm")
    if isinstance(confirm, Mapping):
        for key, limit in (("title", CONFIRM_TITLE), ("text", CONFIRM_TEXT),
                           ("confirm", CONFIRM_BUTTON), ("deny", CONFIRM_BUTTON)):
            part = confirm.get(key)
            if isinstance(part, Mapping):
                _length(problems, f"{where}/confirm/{key}", part.get("text"), limit, minimum=1)


def _length(
    problems: list[str], where: str, value: Any, limit: int, *, minimum: int = 0
) -> None:
    if value is None:
        if minimum:
            problems.append(f"must be provided [json-pointer:{where}]")
        return
    size = len(str(value))
    if size > limit:
        problems.append(f"must be less than {limit + 1} characters [json-pointer:{where}]")
    elif size < minimum:
        problems.append(f"must be at least {minimum} characters [json-pointer:{where}]")
