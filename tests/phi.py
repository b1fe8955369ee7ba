"""The words a log must never hold: every fixture name and note text the end-to-end and
bad-input suites put into the bot (scanned by tests/security/test_log_scan.py)."""

from __future__ import annotations

SENTINELS = (
    # first names of the Slack fixtures and the at-rest tests
    "Zephyrine",
    "Balthazar",
    "Ottoline",
    "Cassiopeia",
    "Peregrine",
    # note texts and summary fields
    "Called, left a voicemail",
    "Called again",
    "left a voicemail",
    "Low mood after a job loss",
    "Sleep routine restored",
    "panic attacks",
    "Generalised anxiety",
    "Anxiety & low mood",
    "END-OF-FOCUS",
    "END-OF-GOALS",
    "Still open: keep this",
    "forged-marker",
    "forged line",
)
