"""All configuration in one pydantic-settings class, built once in `main` and passed down.

Deployment settings use the names DESIGN fixes (DATABASE_URL, SLACK_*, CCT_*, ...);
every policy number has the one prefix DISCHARGE_ (e.g. DISCHARGE_OUTREACH_INTERVAL_DAYS).
A settings file in the same KEY=value format may be given with DISCHARGE_SETTINGS_FILE or
`discharge-bot --settings FILE`; real environment variables win over it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///discharge-bot.db"
MAX_SNOOZE_DAYS = 100
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def parse_workdays(value: Any) -> tuple[int, ...]:
    """'mon-fri' or 'mon,tue,thu' -> ISO-less weekday numbers (Monday=0)."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return tuple(sorted(set(value)))
    text = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        if "-" in part:
            first, last = (WEEKDAY_NAMES.index(p[:3]) for p in part.split("-", 1))
            days.update(range(first, last + 1))
        else:
            days.add(WEEKDAY_NAMES.index(part[:3]))
    if not days:
        raise ValueError("at least one working day is needed")
    return tuple(sorted(days))


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like America/Toronto)"
        ) from exc
    return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DISCHARGE_",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    # --- deployment (names fixed by DESIGN) -------------------------------------------
    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    cct_channel_id: str | None = Field(None, validation_alias="CCT_CHANNEL_ID")
    cct_user_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="CCT_USER_IDS"
    )
    cct_usergroup_id: str | None = Field(None, validation_alias="CCT_USERGROUP_ID")
    platform_webhook_secret: SecretStr | None = Field(
        None, validation_alias="PLATFORM_WEBHOOK_SECRET"
    )
    port: int = Field(3000, validation_alias="PORT", ge=1, le=65535)
    smart_phrases_dir: Path | None = Field(None, validation_alias="SMART_PHRASES_DIR")
    healthie_api_url: str | None = Field(None, validation_alias="HEALTHIE_API_URL")
    healthie_api_key: SecretStr | None = Field(None, validation_alias="HEALTHIE_API_KEY")
    healthie_webhook_secret: SecretStr | None = Field(
        None, validation_alias="HEALTHIE_WEBHOOK_SECRET"
    )
    platform_app_url: str | None = Field(None, validation_alias="PLATFORM_APP_URL")
    healthie_api_version: str = Field("2026-07-01", validation_alias="HEALTHIE_API_VERSION")
    healthie_admin_note_form_id: str | None = Field(
        None, validation_alias="HEALTHIE_ADMIN_NOTE_FORM_ID"
    )
    healthie_admin_note_form_name: str = Field(
        "Outreach Admin Note", validation_alias="HEALTHIE_ADMIN_NOTE_FORM_NAME"
    )
    healthie_discharge_form_id: str | None = Field(
        None, validation_alias="HEALTHIE_DISCHARGE_FORM_ID"
    )
    healthie_discharge_form_name: str = Field(
        "Discharge Summary", validation_alias="HEALTHIE_DISCHARGE_FORM_NAME"
    )
    platform_note_url: str | None = Field(None, validation_alias="PLATFORM_NOTE_URL")
    healthie_webhook_path_prefix: str = Field("", validation_alias="HEALTHIE_WEBHOOK_PATH_PREFIX")
    healthie_timeout_seconds: float = Field(
        10.0, gt=0, le=120, validation_alias="HEALTHIE_TIMEOUT_SECONDS"
    )
    clock_start: datetime | None = Field(
        None, validation_alias=AliasChoices("DISCHARGE_CLOCK_START", "clock_start")
    )
    data_encryption_key: SecretStr | None = Field(None, validation_alias="DATA_ENCRYPTION_KEY")
    data_encryption_old_keys: SecretStr | None = Field(
        None, validation_alias="DATA_ENCRYPTION_OLD_KEYS"
    )

    def encryption_keys(self) -> list[str]:
        """The key that encrypts first, then the old ones that still decrypt (comma-separated)."""
        keys = [self.data_encryption_key.get_secret_value()] if self.data_encryption_key else []
        if self.data_encryption_old_keys:
            old = self.data_encryption_old_keys.get_secret_value()
            keys += [k.strip() for k in old.split(",") if k.strip()]
        return keys

    # --- policy (DESIGN "the workflow as rules"; every number is a setting) ------------
    silence_days: int = Field(
        14,
        ge=1,
        description="Days without client contact (and no booked session) before outreach starts.",
    )
    consecutive_missed: int = Field(
        3,
        ge=1,
        description="Consecutive cancellations / no-shows that make a client inactive by attendance.",
    )
    checkins: int = Field(3, ge=1, le=10, description="Outreach check-ins per episode.")
    outreach_interval_days: int = Field(
        14, ge=1, description="Days between outreach check-ins (about two weeks)."
    )
    no_reply_weeks: int = Field(
        8,
        ge=1,
        description="Weeks without a reply (since last contact) before the client is inactive by communication.",
    )
    reply_window_days: int = Field(
        14,
        ge=0,
        description="Days the last documented check-in has to be answered before the checklist opens.",
    )
    nudge_after_days: int = Field(
        3,
        ge=1,
        description="Days an unanswered prompt or unfinished checklist waits before it is re-nudged.",
    )
    max_nudges: int = Field(
        2, ge=0, description="Re-nudges per prompt before it is escalated to CCT."
    )
    escalate_after_days: int = Field(
        14,
        ge=1,
        description="Days an open discharge checklist may stay unfinished before CCT is told.",
    )
    snooze_days: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [1, 3, 7],
        description="Snooze choices offered on a check-in prompt, in days.",
    )
    practice_timezone: str = Field(
        "America/Toronto",
        description="Zone for clinicians without one, the weekly digest and dates without a zone.",
    )
    work_start: time = Field(
        time(9, 0),
        description="Start of a clinician's working day (local time) unless their record says otherwise.",
    )
    work_end: time = Field(time(17, 0), description="End of the working day (local time).")
    workdays: Annotated[tuple[int, ...], NoDecode] = Field(
        (0, 1, 2, 3, 4), description="Working weekdays, e.g. mon-fri."
    )
    holidays: Annotated[list[date], NoDecode] = Field(
        default_factory=list,
        description="Practice holidays (YYYY-MM-DD, comma-separated): no prompts on these days.",
    )
    label_style: Literal["chart_id", "chart_id_initials"] = Field(
        "chart_id", description="How clinician DMs name a client; channels always use the chart id."
    )
    practice_name: str | None = Field(
        None,
        description=(
            "The practice's name as clients know it (the closing check-in). Required before "
            "any message is sent into a client's chat."
        ),
    )
    pause_days: int = Field(
        30, ge=1, le=366, description="Default length of a paused outreach, in days."
    )
    crisis_line: str | None = Field(
        None,
        description=(
            "The support/crisis line clients are given, e.g. 'call or text 988' "
            "(in the closing check-in; in every check-in with DISCHARGE_CRISIS_LINE_IN_EVERY_CHECKIN)."
        ),
    )
    crisis_line_in_every_checkin: bool = Field(
        False, description="Also give the crisis line in check-ins before the closing one."
    )
    discharged_group_name: str = Field(
        "Discharged Clients", description="The platform group a discharged client is moved to."
    )
    digest_weekday: int = Field(0, ge=0, le=6, description="Weekday of the CCT digest (Monday=0).")
    digest_time: time = Field(
        time(9, 0), description="Local time of the CCT digest in the practice zone."
    )
    tick_seconds: int = Field(60, ge=1, description="Seconds between scheduler ticks.")
    outbox_lease_seconds: float = Field(
        60.0,
        gt=0,
        description="Seconds a dispatcher holds a message it is sending before another may take it over.",
    )
    outbox_max_attempts: int = Field(
        6,
        ge=1,
        description="Tries of a message that keeps failing transiently before it is dead-lettered.",
    )
    http_threads: int = Field(
        4, ge=1, le=256, description="Threads of `serve`'s HTTP server (requests handled at once)."
    )
    http_workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes `serve` answers HTTP with (one per core uses them all).",
    )
    followups_in_background: bool = Field(
        True,
        description="Say a click's follow-ups that could not go at once (a channel's pace) from a background thread within seconds, not at the next tick.",
    )
    apply_in_background: bool = Field(
        True,
        description="Answer a note or a button press as soon as it is safely stored, and make the change right after from a background thread (off: inside the request, as the tests' harness may want).",
    )
    write_budget_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="Seconds a click or webhook may spend waiting for a busy database (and trying again) before it says the change was not saved.",
    )
    slack_pace_seconds: float = Field(
        1.0, ge=0, description="Least seconds between two posts to one Slack channel."
    )

    # --- the early heads-up (issue #15) and the re-engagement report ----------------------
    headsup_enabled: bool = Field(
        True, description="Send clinicians an early heads-up when a client starts to drift."
    )
    headsup_window: int = Field(
        4, ge=1, le=20, description="Heads-up: how many of the latest session outcomes to look at."
    )
    headsup_missed: int = Field(
        2,
        ge=1,
        le=20,
        description="Heads-up: cancellations / no-shows among them that count as drifting.",
    )
    headsup_gap_factor: float = Field(
        2.0,
        gt=1,
        le=10,
        description="Heads-up: days since the last attended session, as a multiple of the client's usual gap.",
    )
    headsup_min_gap_days: int = Field(
        10, ge=1, description="Heads-up: the least gap (days) that can count as a doubled one."
    )
    headsup_rhythm_sessions: int = Field(
        6,
        ge=3,
        le=50,
        description="Heads-up: attended sessions the client's usual gap is the median of.",
    )
    headsup_rhythm_min_gaps: int = Field(
        2,
        ge=1,
        description="Heads-up: gaps between attended sessions needed before a rhythm is known.",
    )
    report_min_cell: int = Field(
        5,
        ge=1,
        description='Counts below this (but above 0) are shown as "<N" in anything shared beyond the clinician\'s own view.',
    )

    @field_validator("cct_user_ids", mode="before")
    @classmethod
    def _cct_ids(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("snooze_days", mode="before")
    @classmethod
    def _snooze(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("snooze_days")
    @classmethod
    def _snooze_range(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("DISCHARGE_SNOOZE_DAYS needs at least one number of days, e.g. 1,3,7")
        wrong = [v for v in value if not 1 <= v <= MAX_SNOOZE_DAYS]
        if wrong:
            raise ValueError(
                f"DISCHARGE_SNOOZE_DAYS values must be whole days from 1 to {MAX_SNOOZE_DAYS}; "
                f"got {', '.join(str(v) for v in wrong)}"
            )
        return sorted(set(value))

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("workdays", mode="before")
    @classmethod
    def _workdays(cls, value: Any) -> tuple[int, ...]:
        return parse_workdays(value)

    @field_validator("practice_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _hours(self) -> Settings:
        if self.work_end <= self.work_start:
            raise ValueError("DISCHARGE_WORK_END must be later than DISCHARGE_WORK_START")
        return self

    @property
    def cct_configured(self) -> bool:
        return bool(self.cct_channel_id)


def load_settings(settings_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from the environment (and an optional KEY=value file)."""
    import os

    path = settings_file or (
        Path(os.environ["DISCHARGE_SETTINGS_FILE"])
        if os.environ.get("DISCHARGE_SETTINGS_FILE")
        else None
    )
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"settings file {path} does not exist")
    return Settings(_env_file=path, **overrides)
