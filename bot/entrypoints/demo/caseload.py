"""The demo's synthetic practice: two clinicians, one CCT member, one client per path of the guide.

Every name here is invented. Chart ids and first names are drawn with the seed, so two runs
with one seed are identical and a new seed gives a new-looking caseload.
"""

from __future__ import annotations

import random

from bot.domain.model import Closure, State
from bot.entrypoints.demo.engine import Person
from bot.entrypoints.demo.scenario import DemoClient, Planned, ongoing_care

DANA = Person("U0DEMOCLIN1", "Dana Whitfield", "clinician", "America/Toronto")
SAM = Person("U0DEMOCLIN2", "Sam Okafor", "clinician", "America/Vancouver")
ROBIN = Person("U0DEMOCCT01", "Robin Care", "cct", "America/Toronto")
PEOPLE = (DANA, SAM, ROBIN)

FIRST_NAMES = (
    "Avery",
    "Briar",
    "Camden",
    "Delphine",
    "Emrys",
    "Fennel",
    "Giselle",
    "Harlow",
    "Isolde",
    "Jules",
    "Keziah",
    "Lennox",
    "Marisol",
    "Nico",
    "Odessa",
    "Perrin",
    "Quill",
    "Rosalind",
)


def demo_clients(seed: int = 1) -> list[DemoClient]:
    rng = random.Random(seed)
    base = rng.randrange(1000, 9000, 10)
    names = rng.sample(FIRST_NAMES, 6)

    def chart(n: int) -> str:
        return f"R-{base + n}"

    return [
        DemoClient(
            chart(1),
            names[0],
            DANA,
            "quiet: 3 check-ins, then discharge",
            13,
            expect_closures=(Closure.ARCHIVED,),
            expect_now=State.CLOSED,
        ),
        DemoClient(
            chart(2),
            names[1],
            DANA,
            "3 missed sessions in a row",
            4,
            next_session=(1, "10:00"),
            planned=(
                Planned(
                    "session.no_show",
                    "start",
                    1,
                    "10:50",
                    (0, "10:00"),
                    "no-show at the booked session",
                ),
                Planned(
                    "session.scheduled",
                    "after",
                    0,
                    "11:05",
                    (7, "10:00"),
                    "the front desk books the next session",
                ),
                Planned(
                    "session.cancelled",
                    "after",
                    6,
                    "15:00",
                    (1, "10:00"),
                    "the client cancels the day before",
                ),
                Planned(
                    "session.scheduled",
                    "after",
                    0,
                    "15:05",
                    (7, "10:00"),
                    "the front desk books another",
                ),
                Planned("session.no_show", "at_session", say="no-show again (third miss in a row)"),
            ),
            expect_closures=(Closure.ARCHIVED,),
            expect_now=State.CLOSED,
        ),
        DemoClient(
            chart(3),
            names[2],
            SAM,
            "replies: continuing care",
            12,
            planned=(
                Planned(
                    "client.message",
                    "checkin:1",
                    2,
                    "14:10",
                    say="the client writes back in the platform's chat",
                ),
                *ongoing_care(
                    Planned(
                        "session.scheduled",
                        "after",
                        2,
                        "11:00",
                        (5, "13:00"),
                        "the client books a session",
                    ),
                    sessions=6,
                ),
            ),
            classify="continuing",
            expect_closures=(Closure.CONTINUING,),
            expect_now=State.ACTIVE,
        ),
        DemoClient(
            chart(4),
            names[3],
            DANA,
            "replies with a fit concern",
            13,
            planned=(
                Planned(
                    "client.message",
                    "checkin:2",
                    1,
                    "19:30",
                    say="the client writes back: not sure this therapist is the right fit",
                ),
            ),
            classify="fit_concern",
            expect_closures=(Closure.REMATCHED,),
        ),
        DemoClient(
            chart(5),
            names[4],
            SAM,
            "still seen by another provider",
            12,
            other_providers="yes",
            expect_closures=(Closure.CARE_TEAM_REMOVED,),
        ),
        DemoClient(
            chart(6),
            names[5],
            DANA,
            "discharged, then books again",
            30,
            planned=ongoing_care(
                Planned(
                    "session.scheduled",
                    "state:closed",
                    9,
                    "11:20",
                    (6, "10:00"),
                    "the discharged client books a session, no barriers",
                ),
                sessions=3,
            ),
            expect_closures=(Closure.ARCHIVED,),
            expect_now=State.ACTIVE,
        ),
    ]
