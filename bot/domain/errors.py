"""Domain errors: what a user did that the policy does not allow, in words a user can read."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the policy makes; the message is shown to the user as is."""


class IllegalTransition(DomainError):
    def __init__(self, state: str, trigger: str, hint: str | None = None) -> None:
        self.state = state
        self.trigger = trigger
        message = f"That can't be done while the client is {state.replace('_', ' ')}."
        super().__init__(f"{message} {hint}" if hint else message)


class UnknownClient(DomainError):
    def __init__(self, chart_id: str) -> None:
        self.chart_id = chart_id
        super().__init__(f"No client with chart id {chart_id} is on the caseload.")


class NotAllowed(DomainError):
    """The actor may not act on this client (not the assigned clinician, not CCT)."""


class ChecklistOrderError(DomainError):
    pass


class NotSaved(DomainError):
    """A change could not be written within the request's time (the database stayed busy).

    Nothing of it was kept; the person is told so plainly and can simply try again.
    """

    def __init__(self) -> None:
        super().__init__(
            "That wasn't saved: the record was busy and the change couldn't be written in "
            "time. Nothing was changed; please try again."
        )


class NeedsReason(DomainError):
    """A step the guide's criteria don't support yet: the clinician may go ahead, but only
    after confirming with a reason (which is audited and goes into the summary)."""

    def __init__(self, unmet: tuple[str, ...], how: str) -> None:
        self.unmet = unmet
        listed = "; ".join(unmet)
        super().__init__(f"The guide's criteria aren't met: {listed}. {how}")
