"""The app manifest: valid for both modes, and it round-trips through YAML."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.settings import Settings
from bot.slack.manifest import build_manifest, manifest_yaml

REQUIRED_SCOPES = {
    "chat:write", "commands", "im:write", "im:history", "users:read", "usergroups:read",
    "channels:history", "groups:history",
}


def _load(settings: Settings, **kwargs: Any) -> dict[str, Any]:
    text = manifest_yaml(settings, **kwargs)
    loaded = yaml.safe_load(text)
    assert loaded == build_manifest(settings, **kwargs)  # a lossless round trip
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("socket_mode", [False, True])
def test_manifest_has_command_scopes_events_and_interactivity(socket_mode: bool) -> None:
    manifest = _load(Settings(), request_url="https://bot.example.org", socket_mode=socket_mode)

    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/care"
    assert command["usage_hint"].startswith("help")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= REQUIRED_SCOPES
    assert "chat:write.public" not in manifest["oauth_config"]["scopes"]["bot"]
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_home_opened", "message.im"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is socket_mode
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]
    assert len(manifest["display_information"]["name"]) <= 35
    assert len(manifest["display_information"]["description"]) <= 140


def test_http_mode_points_every_request_url_at_slack_events() -> None:
    manifest = _load(Settings(), request_url="https://bot.example.org/", socket_mode=False)

    expected = "https://bot.example.org/slack/events"
    assert manifest["features"]["slash_commands"][0]["url"] == expected
    assert manifest["settings"]["event_subscriptions"]["request_url"] == expected
    assert manifest["settings"]["interactivity"]["request_url"] == expected


def test_full_events_url_is_not_doubled() -> None:
    manifest = build_manifest(Settings(), request_url="https://bot.example.org/slack/events",
                              socket_mode=False)

    assert manifest["settings"]["interactivity"]["request_url"] == (
        "https://bot.example.org/slack/events"
    )


def test_socket_mode_has_no_request_urls() -> None:
    text = manifest_yaml(Settings(), request_url=None, socket_mode=True)

    assert "request_url" not in text
    assert "url:" not in text


def test_http_mode_needs_a_public_https_url() -> None:
    with pytest.raises(ValueError, match="public URL"):
        build_manifest(Settings(), request_url=None, socket_mode=False)
    with pytest.raises(ValueError, match="https"):
        build_manifest(Settings(), request_url="http://localhost:3000", socket_mode=False)
