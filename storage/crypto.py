"""Encryption at rest for note bodies, summary fields and first names.

When a key is configured (DATA_ENCRYPTION_KEY, with DATA_ENCRYPTION_OLD_KEYS for rotation)
these columns hold Fernet tokens (AES-128-CBC + HMAC-SHA256: authenticated, from
`cryptography`) behind a short version prefix; without one they hold plain text. A reader
with the key reads both, so switching encryption on needs no migration, and
`discharge-bot rotate-key` re-encrypts every row under the newest key.

The keyring belongs to an engine (it rides on the engine's dialect), not to the process:
two engines in one process - tests, a rotation - can hold different keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Engine, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "enc1:"
_ATTRIBUTE = "discharge_keyring"


class EncryptionError(RuntimeError):
    """A key is missing, malformed or wrong for the data; the message says which (no data)."""


class Keyring:
    """The newest key encrypts; every key decrypts (older ones kept for rotation).

    `encrypting=False` is a keyring of old keys only: it reads encrypted rows and writes plain
    text (how a practice turns encryption off: `rotate-key` without a current key)."""

    def __init__(self, keys: Sequence[str], *, encrypting: bool = True) -> None:
        self.encrypting = encrypting
        if not keys:
            raise EncryptionError("a keyring needs at least one key")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except (ValueError, TypeError):
            raise EncryptionError(
                "DATA_ENCRYPTION_KEY (or an old key) is not a Fernet key: 32 url-safe "
                "base64-encoded bytes, as `discharge-bot gen-key` prints"
            ) from None

    def encrypt(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise EncryptionError(
                "stored data cannot be decrypted with the configured keys (is the key that "
                "wrote it in DATA_ENCRYPTION_KEY or DATA_ENCRYPTION_OLD_KEYS?)"
            ) from None

    def reencrypt(self, stored: str | None) -> str | None:
        """`stored` (plain or under any known key) under the newest key (or plain text when
        this keyring does not encrypt)."""
        if stored is None:
            return None
        plain = self.decrypt(stored) if is_encrypted(stored) else stored
        return self.encrypt(plain) if self.encrypting else plain


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def is_encrypted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def attach_keyring(engine: Engine, keyring: Keyring | None) -> None:
    """Encrypt what this engine writes with `keyring` (None: write plain text)."""
    setattr(engine.dialect, _ATTRIBUTE, keyring)


def keyring_of(dialect: Dialect) -> Keyring | None:
    found = getattr(dialect, _ATTRIBUTE, None)
    return found if isinstance(found, Keyring) else None


def _open(value: str, dialect: Dialect) -> str:
    if not is_encrypted(value):
        return value
    keyring = keyring_of(dialect)
    if keyring is None:
        raise EncryptionError(
            "the database holds encrypted data: set DATA_ENCRYPTION_KEY to read it"
        )
    return keyring.decrypt(value)


def _seal(value: str, dialect: Dialect) -> str:
    keyring = keyring_of(dialect)
    return keyring.encrypt(value) if keyring is not None and keyring.encrypting else value


class EncryptedText(TypeDecorator[str]):
    """TEXT in the database; encrypted there when the engine has a keyring."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _seal(value, dialect)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _open(value, dialect)


#: Keys of a note's `fields` that hold the clinician's words (the discharge summary's); the
#: others (phrase, version, via...) are bookkeeping that reports query in SQL.
SEALED_FIELDS = frozenset({"treatment_focus", "goals_progress", "considerations", "risk_level"})


def seal_fields(value: Any, seal: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {
        k: seal(v) if k in SEALED_FIELDS and isinstance(v, str) and not is_encrypted(v) else v
        for k, v in value.items()
    }


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document whose clinical values (SEALED_FIELDS) are encrypted one by one when
    the engine has a keyring; the rest stays plain JSON that SQL can still query."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return seal_fields(value, lambda text: _seal(text, dialect))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str):  # a driver that hands JSON back as text
            value = json.loads(value)
        if not isinstance(value, dict):
            return value
        return {k: _open(v, dialect) if is_encrypted(v) else v for k, v in value.items()}


class SealedJSON(TypeDecorator[Any]):
    """A JSON document kept as TEXT, encrypted whole when the engine has a keyring (for a
    payload that is clinical throughout, such as a stored Slack request with a note)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _seal(json.dumps(value, separators=(",", ":")), dialect)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(_open(value, dialect))
