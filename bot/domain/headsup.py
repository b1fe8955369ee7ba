"""The early heads-up: a client drifting before the policy's own triggers, in one line.

Pure: session outcomes, `now` and the thresholds in; at most one heads-up per *stretch* out.

**Stretch.** A stretch is the time since the client's latest attended session in the current
episode (or since the episode opened, when none is on record). It ends at the next attended
session, or when the episode changes (outreach closing, a return, a rematch all open a new
episode). A stretch is named by its start, so its key is stable however often it is asked
about; the service layer keeps the keys that already had a heads-up (sent, marked *Expected*
or dismissed) and passes them back in as `already`.

**The two patterns** (both only while the episode is *active*: once outreach has begun, the
policy's own prompts take over):

* *missed*: at least `missed` of the client's last `window` session outcomes were
  cancellations or no-shows, and the latest outcome was one of them (a miss in this stretch:
  a client who just came is not drifting);
* *gap*: the client has a rhythm -- at least `rhythm_min_gaps` gaps between attended sessions
  among their last `rhythm_sessions` -- and the days since the last attended session reach
  `gap_factor` times their usual (median) gap, and at least `min_gap_days`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

DAY = timedelta(days=1)


@dataclass(frozen=True)
class HeadsUpRules:
    """Every threshold is a DISCHARGE_HEADSUP_* setting; `enabled` turns it all off."""

    enabled: bool = True
    window: int = 4
    missed: int = 2
    gap_factor: float = 2.0
    min_gap_days: int = 10
    rhythm_sessions: int = 6
    rhythm_min_gaps: int = 2


@dataclass(frozen=True)
class SessionOutcome:
    """One session's outcome as the heads-up reads it: when it was, and whether they came."""

    at: datetime
    attended: bool


@dataclass(frozen=True)
class Pattern:
    """What the clinician is shown, as numbers; `line()` is the one-line wording."""

    missed: int | None = None  # misses among the last `of` outcomes, when that rule fired
    of: int | None = None
    usual_gap_days: int | None = None
    current_gap_days: int | None = None

    def line(self) -> str:
        parts = []
        if self.missed is not None and self.of is not None:
            parts.append(f"missed {self.missed} of the last {self.of}")
        if self.usual_gap_days is not None and self.current_gap_days is not None:
            parts.append(f"usual gap {self.usual_gap_days} days, now {self.current_gap_days}")
        return "; ".join(parts)


@dataclass(frozen=True)
class HeadsUp:
    stretch: str  # the stretch's key: one heads-up per key, ever
    pattern: Pattern


def sorted_outcomes(outcomes: Iterable[SessionOutcome]) -> list[SessionOutcome]:
    return sorted(outcomes, key=lambda o: o.at)


def stretch_key(outcomes: Sequence[SessionOutcome], now: datetime) -> str:
    """The stretch `now` falls in: named after the latest attended session before `now`."""
    last = last_attended(outcomes, now)
    return last.strftime("%Y%m%dT%H%M%SZ") if last is not None else "open"


def last_attended(outcomes: Sequence[SessionOutcome], now: datetime) -> datetime | None:
    attended = [o.at for o in outcomes if o.attended and o.at <= now]
    return max(attended) if attended else None


def usual_gap_days(
    outcomes: Sequence[SessionOutcome], now: datetime, rules: HeadsUpRules
) -> float | None:
    """The median gap between the last `rhythm_sessions` attended sessions (None: no rhythm)."""
    attended = sorted(o.at for o in outcomes if o.attended and o.at <= now)
    recent = attended[-rules.rhythm_sessions :]
    gaps = [(b - a) / DAY for a, b in pairwise(recent)]
    if len(gaps) < rules.rhythm_min_gaps:
        return None
    usual = median(gaps)
    return usual if usual > 0 else None


def _missed_rule(
    outcomes: Sequence[SessionOutcome], now: datetime, rules: HeadsUpRules
) -> Pattern | None:
    known = [o for o in outcomes if o.at <= now][-rules.window :]
    if not known or known[-1].attended:
        return None
    missed = sum(1 for o in known if not o.attended)
    if missed < rules.missed:
        return None
    return Pattern(missed=missed, of=len(known))


def gap_deadline(
    outcomes: Sequence[SessionOutcome], now: datetime, rules: HeadsUpRules
) -> tuple[datetime, float] | None:
    """When the gap since the last attended session counts as doubled (and the usual gap)."""
    last = last_attended(outcomes, now)
    usual = usual_gap_days(outcomes, now, rules)
    if last is None or usual is None:
        return None
    days = max(rules.gap_factor * usual, float(rules.min_gap_days))
    return last + timedelta(days=days), usual


def evaluate(
    outcomes: Iterable[SessionOutcome],
    now: datetime,
    rules: HeadsUpRules,
    *,
    active: bool = True,
    already: frozenset[str] = frozenset(),
) -> HeadsUp | None:
    """The heads-up due at `now`, if any: never off, never outside an active episode, never
    for a stretch in `already`."""
    if not rules.enabled or not active:
        return None
    ordered = sorted_outcomes(outcomes)
    key = stretch_key(ordered, now)
    if key in already:
        return None
    missed = _missed_rule(ordered, now, rules)
    gap = gap_deadline(ordered, now, rules)
    gap_pattern = None
    if gap is not None and gap[0] <= now:
        last = last_attended(ordered, now)
        assert last is not None  # a gap deadline needs an attended session
        gap_pattern = Pattern(
            usual_gap_days=round(gap[1]), current_gap_days=int((now - last) / DAY)
        )
    if missed is None and gap_pattern is None:
        return None
    pattern = Pattern(
        missed=missed.missed if missed else None,
        of=missed.of if missed else None,
        usual_gap_days=gap_pattern.usual_gap_days if gap_pattern else None,
        current_gap_days=gap_pattern.current_gap_days if gap_pattern else None,
    )
    if gap_pattern is None:
        # Show the rhythm too when there is one: "missed 2 of the last 4; usual gap 7, now 19".
        last = last_attended(ordered, now)
        usual = usual_gap_days(ordered, now, rules)
        if last is not None and usual is not None:
            pattern = Pattern(
                missed=pattern.missed,
                of=pattern.of,
                usual_gap_days=round(usual),
                current_gap_days=int((now - last) / DAY),
            )
    return HeadsUp(stretch=key, pattern=pattern)


def next_check(
    outcomes: Iterable[SessionOutcome],
    now: datetime,
    rules: HeadsUpRules,
    *,
    active: bool = True,
    already: frozenset[str] = frozenset(),
) -> datetime | None:
    """When the heads-up must next be evaluated without any new event: `now` when one is due
    now, the gap deadline when that is still ahead, else None (only a new event can change it).

    This is what the `episodes.headsup_due_at` column (indexed; read by the tick) holds.
    """
    if not rules.enabled or not active:
        return None
    ordered = sorted_outcomes(outcomes)
    if stretch_key(ordered, now) in already:
        return None
    if evaluate(ordered, now, rules, active=active, already=already) is not None:
        return now
    gap = gap_deadline(ordered, now, rules)
    if gap is None:
        return None
    return gap[0]
