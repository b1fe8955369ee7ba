"""Slack's inbound requests, signed as Slack signs them: the builder lives in the package
(`bot.devtools.slack_requests`, the demo uses it); re-exported here for the tests."""

from bot.devtools.slack_requests import *  # noqa: F403 - the tests' historical import path
