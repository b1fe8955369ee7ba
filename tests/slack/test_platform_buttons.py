"""With a platform that can act (the fake Healthie over HTTP): Send for me, the care-team
hint and Move for me. The first name goes into the client's chat and nowhere in Slack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.domain.model import State
from bot.platform.healthie_api import HealthieClient
from bot.platform.healthie_chart import HealthieChart
from bot.settings import Settings
from bot.slack.ids import Id
from tests.fakes.healthie import API_KEY, FakeHealthie
from tests.helpers import HEADER, import_rows
from tests.slack.conftest import CLINICIAN, Bot, buttons, caseload, submit_summary, text_of


@pytest.fixture
def fake_healthie() -> Iterator[FakeHealthie]:
    fake = FakeHealthie().start()
    fake.add_user("1042", dietitian_id="77", other_provider_ids=["78"])
    fake.add_user("77", is_patient=False, full_name="Dana Whitfield", title="Therapist")
    fake.add_user("78", is_patient=False, full_name="Lee Park", title="Psychiatrist")
    fake.add_group("5", "Discharged Clients")
    yield fake
    fake.stop()


@pytest.fixture
def platform(fake_healthie: FakeHealthie) -> HealthieChart:
    client = HealthieClient(fake_healthie.url, API_KEY, timeout=2)
    return HealthieChart(client, Settings(_env_file=None))


def test_send_for_me_posts_into_the_chat_and_documents_it(
    bot: Bot, fake_healthie: FakeHealthie
) -> None:
    caseload(bot, f"1042,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    prompt = bot.dm()[-1]
    assert Id.SEND_FOR_ME in buttons(prompt)

    assert bot.click(prompt, Id.SEND_FOR_ME).status == 200

    [note] = fake_healthie.calls_to("createNote")
    assert "Zephyrine" in str(note.variables["content"])
    assert "Sent through the platform" in text_of(bot.fresh(prompt))
    assert all("Zephyrine" not in text_of(m) for m in bot.dm())
    assert bot.service.reads.caseload()[0].checkins_sent == 1


def test_checklist_hints_the_care_team_and_moves_the_client_for_me(
    bot: Bot, fake_healthie: FakeHealthie
) -> None:
    # The caseload says who the clinician is in Healthie (user 77).
    import_rows(bot.service, f"1042,{CLINICIAN},Zephyrine,2026-02-01T10:00,,,77",
                header=HEADER.rstrip("\n") + ",clinician_platform_id\n")
    bot.tick()
    prompt = bot.dm()[-1]
    bot.click(prompt, Id.MARK_SENT)
    # No admin-note form here: the clinician pastes the note and says so.
    bot.click(bot.fresh(prompt), Id.NOTE_DOCUMENTED)
    assert "discharge checklist" in bot.send(
        bot.slack.slash_command("discharge 1042 Client asked to close the file", user_id=CLINICIAN)
    ).json()["text"]
    checklist = bot.dm()[-1]
    # step 1 from the documented attempt
    assert ":white_check_mark: *1. Re-engagement attempts documented*" in text_of(checklist)
    # step 2 ticked itself: the chart has no unsigned note; step 3 names the others only
    assert ":white_check_mark: *2. All session notes" in text_of(checklist)
    assert "The platform lists on the care team: Lee Park (Psychiatrist)." in text_of(checklist)
    assert "Dana Whitfield" not in text_of(checklist)
    bot.click(checklist, Id.OTHER_PROVIDERS, label="No, nobody else")
    submit_summary(bot, bot.fresh(checklist))
    checklist = bot.fresh(checklist)
    assert buttons(checklist) == [Id.MOVE_FOR_ME, Id.MOVED_CONFIRM]

    assert bot.click(checklist, Id.MOVE_FOR_ME).status == 200

    assert fake_healthie.state.users["1042"]["user_group_id"] == "5"
    assert bot.service.reads.caseload()[0].state is State.DISCHARGED
    assert "Chart check and archive" in text_of(bot.cct()[-1])
