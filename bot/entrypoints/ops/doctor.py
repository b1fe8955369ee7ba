"""`discharge-bot doctor`: check an installation end to end and say what to fix.

Checks are plain functions in `CHECKS`, run in order; each returns one or more `Finding`s
(ok / warn / fail / skip) with, for anything not ok, the fix in words an admin can follow.
Add one with `@check("name")` (another module may do so before `run_checks` is called); a
check that raises is reported as a failure of that check, never a crash of the command.
Nothing here writes anything, and no secret is ever printed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock, SystemClock
from bot.settings import Settings

Status = Literal["ok", "warn", "fail", "skip"]

#: Healthie sunsets every API version before this one on SUNSET_DATE.
HEALTHIE_CURRENT_VERSION = "2026-07-01"
HEALTHIE_SUNSET_DATE = date(2027, 1, 31)


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Doctor:
    """What the checks share: the settings, a clock, a timeout and memoised clients."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    timeout: float = 10.0

    @functools.cached_property
    def slack(self) -> WebClient:
        from bot.delivery.slack_client import make_web_client

        return make_web_client(self.settings, timeout=max(1, int(self.timeout)))

    @functools.cached_property
    def slack_auth(self) -> tuple[dict[str, Any] | None, str | None]:
        """(auth.test answer with its `scopes`, None) or (None, the error)."""
        if self.settings.slack_bot_token is None:
            return None, "no token"
        try:
            answer = self.slack.auth_test()
        except SlackApiError as exc:
            return None, str(exc.response.get("error") or exc)
        except Exception as exc:  # network: refused, DNS, timeout
            return None, f"cannot reach {self.settings.slack_api_url} ({exc.__class__.__name__})"
        headers = {k.lower(): v for k, v in (answer.headers or {}).items()}
        raw = headers.get("x-oauth-scopes", "")
        if isinstance(raw, list):
            raw = ",".join(raw)
        data = dict(answer.data) if isinstance(answer.data, dict) else {}
        data["scopes"] = sorted({s.strip() for s in str(raw).split(",") if s.strip()})
        return data, None


Check = Callable[[Doctor], Iterable[Finding] | Finding]
CHECKS: list[tuple[str, Check]] = []


def check(name: str) -> Callable[[Check], Check]:
    """Register a check under `name` (replacing one of the same name)."""

    def register(fn: Check) -> Check:
        CHECKS[:] = [(n, f) for n, f in CHECKS if n != name]
        CHECKS.append((name, fn))
        return fn

    return register


# --------------------------------------------------------------------------- the checks


@check("configuration")
def configuration(doc: Doctor) -> list[Finding]:
    s = doc.settings
    found: list[Finding] = []
    missing = []
    if s.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN")
    if s.slack_signing_secret is None and s.slack_app_token is None:
        missing.append("SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)")
    if s.cct_channel_id is None:
        missing.append("CCT_CHANNEL_ID")
    if not s.cct_user_ids and s.cct_usergroup_id is None:
        missing.append("CCT_USER_IDS or CCT_USERGROUP_ID")
    if missing:
        found.append(
            Finding(
                "configuration",
                "fail",
                "not set: " + ", ".join(missing),
                "Create the Slack app from `discharge-bot manifest`, install it to the workspace, "
                "and set these variables (README: Run it for real).",
            )
        )
    token = s.slack_bot_token.get_secret_value() if s.slack_bot_token else ""
    if token and not token.startswith("xoxb-"):
        found.append(
            Finding(
                "configuration",
                "fail",
                "SLACK_BOT_TOKEN is not a bot token (it must start xoxb-)",
                "Copy the Bot User OAuth Token from the app's OAuth & Permissions page.",
            )
        )
    app_token = s.slack_app_token.get_secret_value() if s.slack_app_token else ""
    if app_token and not app_token.startswith("xapp-"):
        found.append(
            Finding(
                "configuration",
                "fail",
                "SLACK_APP_TOKEN is not an app-level token (xapp-…)",
                "Create an app-level token with connections:write on the app's Basic Information "
                "page, or unset SLACK_APP_TOKEN to serve HTTP.",
            )
        )
    if s.clock_start is not None:
        found.append(
            Finding(
                "configuration",
                "warn",
                f"DISCHARGE_CLOCK_START is set ({s.clock_start.isoformat()}): the business "
                "clock is not the real time",
                "Unset DISCHARGE_CLOCK_START outside demos, training and rehearsals.",
            )
        )
    if not s.practice_name:
        found.append(
            Finding(
                "configuration",
                "warn",
                "DISCHARGE_PRACTICE_NAME is not set: nothing can be sent into a client's chat, "
                "and the closing check-in would not name the practice",
                "Set DISCHARGE_PRACTICE_NAME to the practice's name as clients know it.",
            )
        )
    if s.database_url.startswith("sqlite"):
        found.append(
            Finding(
                "configuration",
                "ok",
                "SQLite database: fine for one process; use PostgreSQL for a web process plus "
                "workers or several replicas",
            )
        )
    if not any(f.status == "fail" for f in found):
        mode = "Socket Mode" if s.slack_app_token else f"HTTP on port {s.port}"
        found.append(Finding("configuration", "ok", f"Slack settings present; serving {mode}"))
    return found


@check("database")
def database(doc: Doctor) -> Finding:
    from storage.db import current_revision, head_revision, make_engine

    url = doc.settings.database_url
    shown = url.split("@")[-1] if "@" in url else url  # never print a password
    try:
        engine = make_engine(url)
    except Exception as exc:
        return Finding(
            "database",
            "fail",
            f"DATABASE_URL is not usable ({exc.__class__.__name__})",
            "Set DATABASE_URL to sqlite:///FILE or postgresql://user@host/db.",
        )
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return Finding(
            "database",
            "fail",
            f"cannot connect to {shown} ({exc.__class__.__name__})",
            "Check that the database server is running and DATABASE_URL (host, port, user, "
            "database name) is right.",
        )
    finally:
        engine.dispose()
    head = head_revision()
    if current is None:
        return Finding(
            "database",
            "fail",
            f"{shown} has no schema (never migrated)",
            "Run `discharge-bot migrate`.",
        )
    if current != head:
        return Finding(
            "database",
            "fail",
            f"{shown} is at revision {current}; this version needs {head}",
            "Run `discharge-bot migrate` (if the database is newer than this version, deploy "
            "the newer version instead).",
        )
    return Finding("database", "ok", f"{shown} is migrated (revision {head})")


@check("smart phrases")
def smart_phrases(doc: Doctor) -> Finding:
    from smart_phrases import PhraseLibrary, PhraseSetError, lint

    folder = doc.settings.smart_phrases_dir
    where = f"SMART_PHRASES_DIR={folder}" if folder else "the default phrases"
    if folder is not None and not folder.is_dir():
        return Finding(
            "smart phrases",
            "fail",
            f"{where}: no such folder",
            "Point SMART_PHRASES_DIR at the practice's phrase folder, or unset it.",
        )
    try:
        library = PhraseLibrary.load(folder)
    except PhraseSetError as exc:
        listed = "; ".join(str(p) for p in exc.problems[:5])
        more = " …" if len(exc.problems) > 5 else ""
        return Finding(
            "smart phrases",
            "fail",
            f"{where} is broken: {listed}{more}",
            "Fix the files named, then `discharge-bot phrases lint`.",
        )
    problems = lint(folder)
    if problems:
        return Finding(
            "smart phrases",
            "fail",
            f"{where}: " + "; ".join(str(p) for p in problems[:5]),
            "Fix the files named, then `discharge-bot phrases lint`.",
        )
    overridden = [n for n in library.names() if library.get(n).overridden]
    extra = f" ({len(overridden)} overridden)" if overridden else ""
    return Finding("smart phrases", "ok", f"{len(library.names())} phrases load and lint{extra}")


@check("slack token")
def slack_token(doc: Doctor) -> list[Finding]:
    from bot.slack.manifest import BOT_SCOPES

    if doc.settings.slack_bot_token is None:
        return [Finding("slack token", "skip", "SLACK_BOT_TOKEN is not set")]
    auth, error = doc.slack_auth
    if auth is None:
        fix = {
            "invalid_auth": "The token is wrong or was revoked: copy the Bot User OAuth Token "
            "again from the app's OAuth & Permissions page.",
            "account_inactive": "The app was uninstalled or its user deactivated: reinstall "
            "the app and set the new token.",
            "token_revoked": "The token was revoked: reinstall the app and set the new token.",
        }.get(error or "", "Check SLACK_API_URL and that this machine can reach Slack (HTTPS).")
        return [Finding("slack token", "fail", f"auth.test failed: {error}", fix)]
    who = f"bot user {auth.get('user_id')} in team {auth.get('team') or auth.get('team_id')}"
    found = [Finding("slack token", "ok", f"auth.test: {who}")]
    granted = set(auth["scopes"])
    missing = [s for s in BOT_SCOPES if s not in granted]
    extra = sorted(granted - set(BOT_SCOPES))
    if missing:
        found.append(
            Finding(
                "slack scopes",
                "fail",
                "the token lacks: " + ", ".join(missing),
                "Update the app from `discharge-bot manifest` (OAuth & Permissions, or paste the "
                "manifest) and reinstall it to the workspace, then set the new token.",
            )
        )
    else:
        found.append(Finding("slack scopes", "ok", "every scope of the manifest is granted"))
    if extra:
        found.append(
            Finding(
                "slack scopes",
                "warn",
                "granted but not needed: " + ", ".join(extra),
                "Least privilege: remove them from the app's scopes and reinstall.",
            )
        )
    return found


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "error")
    return exc.__class__.__name__


@check("cct channel")
def cct_channel(doc: Doctor) -> Finding:
    channel = doc.settings.cct_channel_id
    if channel is None:
        return Finding("cct channel", "skip", "CCT_CHANNEL_ID is not set")
    if doc.slack_auth[0] is None:
        return Finding("cct channel", "skip", "needs a working Slack token")
    invite = (
        f"Invite the bot: in Slack open the channel and type `/invite @discharge-bot`, or "
        f"check that CCT_CHANNEL_ID ({channel}) is the channel's id (channel details, bottom)."
    )
    try:
        info = doc.slack.conversations_info(channel=channel)
        data = info.get("channel") or {}
        name = f"#{data.get('name')}" if data.get("name") else channel
        if data.get("is_archived"):
            return Finding(
                "cct channel",
                "fail",
                f"{name} is archived",
                "Unarchive it, or set CCT_CHANNEL_ID to the CCT's current channel.",
            )
        if not data.get("is_member"):
            return Finding("cct channel", "fail", f"the bot is not a member of {name}", invite)
        return Finding("cct channel", "ok", f"the bot is a member of {name}")
    except SlackApiError as exc:
        error = _slack_error(exc)
        if error != "missing_scope":
            return Finding("cct channel", "fail", f"conversations.info: {error}", invite)
    except Exception as exc:
        return Finding("cct channel", "fail", f"conversations.info: {_slack_error(exc)}", invite)
    # Without channels:read the bot's own history scope answers the same question.
    try:
        doc.slack.conversations_history(channel=channel, limit=1)
    except Exception as exc:
        return Finding("cct channel", "fail", f"cannot read {channel}: {_slack_error(exc)}", invite)
    return Finding("cct channel", "ok", f"the bot can read and post in {channel}")


@check("cct members")
def cct_members(doc: Doctor) -> Finding:
    group = doc.settings.cct_usergroup_id
    ids = doc.settings.cct_user_ids
    if group is None:
        if ids:
            return Finding("cct members", "ok", f"{len(ids)} CCT member(s) by CCT_USER_IDS")
        return Finding("cct members", "skip", "no CCT_USER_IDS or CCT_USERGROUP_ID")
    if doc.slack_auth[0] is None:
        return Finding("cct members", "skip", "needs a working Slack token")
    try:
        users = doc.slack.usergroups_users_list(usergroup=group).get("users") or []
    except Exception as exc:
        return Finding(
            "cct members",
            "fail",
            f"user group {group}: {_slack_error(exc)}",
            "Set CCT_USERGROUP_ID to the CCT user group's id (S…).",
        )
    if not users and not ids:
        return Finding(
            "cct members",
            "fail",
            f"user group {group} has no members",
            "Add the CCT to the user group in Slack.",
        )
    return Finding("cct members", "ok", f"{len(users)} in user group {group}, {len(ids)} by id")


@check("platform")
def platform(doc: Doctor) -> list[Finding]:
    s = doc.settings
    found = []
    if s.platform_webhook_secret is None and s.healthie_api_url is None:
        found.append(
            Finding(
                "platform",
                "warn",
                "no platform connected: sessions and replies must be recorded "
                "by hand (/care session, import-sessions)",
                "Connect Healthie (HEALTHIE_API_URL, HEALTHIE_API_KEY, HEALTHIE_WEBHOOK_SECRET) or "
                "set PLATFORM_WEBHOOK_SECRET for the generic webhook (README: Connecting the "
                "platform).",
            )
        )
    elif s.platform_webhook_secret is not None:
        found.append(Finding("platform", "ok", "generic webhook on POST /platform/events"))
    return found


@check("healthie")
def healthie(doc: Doctor) -> list[Finding]:
    from bot.platform.healthie_api import (
        GroupNotFound,
        PlatformError,
        healthie_client_from_settings,
    )

    s = doc.settings
    if s.healthie_api_url is None and s.healthie_api_key is None:
        return [Finding("healthie", "skip", "the Healthie adapter is off")]
    if s.healthie_api_url is None or s.healthie_api_key is None:
        return [
            Finding(
                "healthie",
                "fail",
                "only one of HEALTHIE_API_URL and HEALTHIE_API_KEY is set",
                "Set both (or neither) to turn the Healthie adapter on.",
            )
        ]
    found: list[Finding] = []
    version = s.healthie_api_version
    today = doc.clock.now().date()
    if version < HEALTHIE_CURRENT_VERSION:
        past = today > HEALTHIE_SUNSET_DATE
        found.append(
            Finding(
                "healthie version",
                "fail" if past else "warn",
                f"HEALTHIE_API_VERSION={version} "
                + ("was sunset on " if past else "is sunset on ")
                + f"{HEALTHIE_SUNSET_DATE.isoformat()}"
                + ("" if past else f" ({(HEALTHIE_SUNSET_DATE - today).days} days from now)"),
                f"Set HEALTHIE_API_VERSION={HEALTHIE_CURRENT_VERSION}.",
            )
        )
    else:
        found.append(Finding("healthie version", "ok", f"API version {version}"))
    if s.healthie_webhook_secret is None:
        found.append(
            Finding(
                "healthie",
                "warn",
                "HEALTHIE_WEBHOOK_SECRET is not set: /platform/healthie is off",
                "Create the webhook in Healthie (README: Connecting the platform) and set its "
                "signing secret.",
            )
        )
    client = healthie_client_from_settings(s, api_version=version, timeout=min(doc.timeout, 30))
    assert client is not None
    group = s.discharged_group_name
    try:
        client.find_group_id(group)
    except GroupNotFound:
        found.append(
            Finding(
                "healthie",
                "fail",
                f"Healthie answers, but has no client group named {group!r}",
                "Create the group in Healthie, or set DISCHARGE_DISCHARGED_GROUP_NAME to its name.",
            )
        )
    except PlatformError as exc:
        found.append(
            Finding(
                "healthie",
                "fail",
                f"Healthie did not answer: {exc}",
                "Check HEALTHIE_API_URL (the GraphQL endpoint), HEALTHIE_API_KEY and that this "
                "machine can reach it.",
            )
        )
    else:
        found.append(Finding("healthie", "ok", f"API reachable; the {group!r} group exists"))
        found.extend(_healthie_setup(client, s))
    return found


# What the adapter's own checks add once Healthie answers: the version warnings Healthie
# sends, the admin-note and summary forms, webhook subscriptions and retries, and the
# recurring-appointments caveat. (Reachability and the group are reported above.)
_ALREADY_REPORTED = {"healthie.api", "healthie.discharged_group"}


def _healthie_setup(client: Any, settings: Settings) -> list[Finding]:
    from bot.platform.healthie_doctor import Status as HealthieStatus
    from bot.platform.healthie_doctor import check_healthie

    found = []
    for c in check_healthie(client, settings):
        if c.name in _ALREADY_REPORTED:
            continue
        if c.name == "healthie.version" and c.status is HealthieStatus.OK:
            continue  # the version line above already says it is current
        name = c.name.replace("healthie.", "healthie ").replace("_", " ")
        if c.status is HealthieStatus.WARN:
            found.append(Finding(name, "warn", c.detail, _HEALTHIE_FIXES.get(c.name)))
        elif c.status is HealthieStatus.FAIL:
            found.append(Finding(name, "fail", c.detail, _HEALTHIE_FIXES.get(c.name)))
        else:  # ok, or information the admin should know (the recurring caveat)
            found.append(Finding(name, "ok", c.detail))
    return found


_HEALTHIE_FIXES = {
    "healthie.version": f"Set HEALTHIE_API_VERSION={HEALTHIE_CURRENT_VERSION}.",
    "healthie.admin_note_form": "README: Healthie, the forms to create (admin note).",
    "healthie.discharge_form": "README: Healthie, the forms to create (discharge summary).",
    "healthie.webhooks": "README: Healthie, the webhook events to subscribe to.",
    "healthie.webhook_retries": "Turn retries on for the bot's webhook (README: Healthie).",
}


# --------------------------------------------------------------------------- running


def run_checks(
    settings: Settings, *, timeout: float = 10.0, clock: Clock | None = None
) -> list[Finding]:
    doc = Doctor(settings, clock or SystemClock(), timeout)
    results: list[Finding] = []
    for name, fn in list(CHECKS):
        try:
            outcome = fn(doc)
        except Exception as exc:  # one broken check must not hide the others
            outcome = Finding(
                name,
                "fail",
                f"the check itself failed ({exc.__class__.__name__}: {str(exc)[:200]})",
                "Report this with the output of `doctor -v`.",
            )
        results.extend([outcome] if isinstance(outcome, Finding) else outcome)
    return results


MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def print_report(results: list[Finding], out: IO[str], *, now: datetime | None = None) -> int:
    """Print each finding and its fix; 1 when anything failed, else 0."""
    width = max((len(r.check) for r in results), default=10)
    for r in results:
        out.write(f"[{MARKS[r.status]}] {r.check.ljust(width)}  {r.detail}\n")
        if r.fix and r.status in {"fail", "warn"}:
            out.write(f"       {' ' * width}  -> {r.fix}\n")
    failed = sum(r.status == "fail" for r in results)
    warned = sum(r.status == "warn" for r in results)
    out.write(
        f"\n{failed} problem(s) to fix, {warned} warning(s).\n"
        if failed or warned
        else "\nEverything checked is in order.\n"
    )
    return 1 if failed else 0
