"""The Slack Web API client the bot uses, and the one retry policy that cannot double-post."""

from __future__ import annotations

import logging
import socket
from http.client import RemoteDisconnected
from urllib.error import URLError
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.logsafe import quiet_libraries
from bot.settings import Settings

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset(
    {
        # reads
        "auth.test",
        "users.info",
        "usergroups.users.list",
        "conversations.history",
        "conversations.info",
        "conversations.replies",
        "chat.getPermalink",
        # writes whose repetition changes nothing
        "conversations.open",  # the same DM channel every time
        "chat.update",  # the same content again
        "views.publish",  # the same App Home again
        "views.update",
    }
)
"""Methods a lost answer may be retried for. `chat.postMessage`, `chat.postEphemeral` and
`views.open` are deliberately absent: repeating them shows the message (or modal) twice."""

# A user id lookup may answer these; they mean "no zone to be had", not "try again".
# (`account_inactive` is not one: it says the bot's own token is dead, and must surface.)
_NO_SUCH_USER = frozenset({"user_not_found", "user_not_visible"})


class SafeConnectionErrorRetryHandler(RetryHandler):
    """Retry a connection error only when the retry cannot duplicate an effect.

    slack_sdk's default `ConnectionErrorRetryHandler` retries *every* method once on a
    reset or a dropped answer. For `chat.postMessage` that is a double post whenever Slack
    took the message but the answer was lost. This handler retries:

    * any method when the request provably never reached Slack (connection refused, name
      resolution failed), and
    * only the `IDEMPOTENT_METHODS` when the connection broke after the request was sent.

    Everything else surfaces to the caller as the original exception; the outbox reconciles
    such a message against the channel's history (by its metadata key) before sending again.
    """

    def __init__(self, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is None or response is not None:
            return False
        if _never_sent(error):
            return True
        if not isinstance(error, URLError | ConnectionResetError | RemoteDisconnected):
            return False
        return api_method(request.url) in IDEMPOTENT_METHODS


def _never_sent(error: BaseException) -> bool:
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def api_method(url: str) -> str:
    """`https://slack.com/api/chat.postMessage?x=1` -> `chat.postMessage`."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def make_web_client(settings: Settings, *, timeout: int = 30) -> WebClient:
    """The bot's `WebClient`: token and base URL from the settings, safe retries only.

    `SLACK_API_URL` points it at another Web API (the tests' fake, a proxy); a missing
    trailing slash is added because the SDK joins the method name straight onto it.
    Rate limits are *not* retried here: a 429 reaches the caller as `SlackApiError` with
    `Retry-After`, so the outbox can pace the channel instead of a thread sleeping blind.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else (settings.slack_api_url + "/")
    )
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[SafeConnectionErrorRetryHandler()],
        logger=_sdk_logger(),
    )


def _sdk_logger() -> logging.Logger:
    """slack_sdk logs every request and answer, message text included, when its logger's
    own level is DEBUG or unset: give it one that never is."""
    quiet_libraries()
    logger = logging.getLogger("slack_sdk.web.discharge_bot")
    logger.setLevel(logging.WARNING)
    return logger


def lookup_timezone(client: WebClient, user_id: str) -> str | None:
    """The IANA zone Slack has for `user_id` (e.g. "America/Toronto"), or None.

    None means Slack has no usable zone: the user is unknown, deactivated, has no `tz`, or
    a zone this Python does not know. Other failures (rate limit, auth, network) raise
    `SlackApiError` or the connection error, so the caller can try again later instead of
    silently falling back to the practice zone.
    """
    try:
        response = client.users_info(user=user_id)
    except SlackApiError as exc:
        if exc.response.get("error") in _NO_SUCH_USER:
            return None
        raise
    user = response.get("user") or {}
    tz = user.get("tz") if isinstance(user, dict) else None
    if not isinstance(tz, str) or not tz:
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("Slack gave user %s the unknown time zone %r; ignoring it", user_id, tz)
        return None
    return tz
