"""The in-process scheduler: APScheduler only wakes us up; the database is the schedule.

Two jobs, no job store and no job per client: the tick (every DISCHARGE_TICK_SECONDS,
coalesced, never two at once) queues what is due and delivers it; the weekly digest posts
the CCT summary on DISCHARGE_DIGEST_WEEKDAY at DISCHARGE_DIGEST_TIME in the practice zone.
`discharge-bot serve` runs them beside the app; `discharge-bot worker` runs only them.

Stopping (SIGTERM) claims nothing new: the tick stops between batches, the dispatcher
finishes the message in hand and gives the rest back at once, and the process exits
within `STOP_SECONDS`.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import SystemClock
from bot.platform.inbound import InboundApplier
from bot.services import Services
from bot.slack.dispatch import Dispatcher, DispatchReport

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0
DELIVERY_SHARE = 0.8  # of a tick period a pass may spend delivering before the next tick


def tick_and_deliver(
    services: Services,
    dispatcher: Dispatcher | None,
    *,
    stop: threading.Event | None = None,
    deliver_seconds: float = 30.0,
) -> DispatchReport | None:
    """One pass: queue what is due now, then send what is due (when Slack is configured)."""
    result = services.outreach.tick(stop=stop.is_set if stop is not None else None)
    if result.queued:
        log.info("tick queued %d message(s)", len(result.queued))
    if dispatcher is None or (stop is not None and stop.is_set()):
        return None
    report = dispatcher.deliver_due(timeout=deliver_seconds)
    if report.claimed:
        log.info("dispatch: %s", report)
    return report


class Scheduler:
    """The tick and the weekly digest, on a background thread pool of one.

    With `inbound`, each tick first applies the platform events stored and not yet applied
    (those a stopped `serve` left behind, in a process that only runs the scheduler)."""

    def __init__(
        self,
        services: Services,
        dispatcher: Dispatcher | None,
        *,
        inbound: InboundApplier | None = None,
    ) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.inbound = inbound
        self.settings = services.settings
        self.stopping = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self._scheduler = BackgroundScheduler(
            timezone="UTC", executors={"default": {"type": "threadpool", "max_workers": 1}}
        )

    def start(self) -> None:
        tick_seconds = self.settings.tick_seconds
        self._scheduler.add_job(
            self._run,
            "interval",
            args=[self.tick],
            seconds=tick_seconds,
            id="tick",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=tick_seconds,
            next_run_time=SystemClock().now(),  # APScheduler runs on the wall clock
        )
        self._scheduler.add_job(
            self._run,
            CronTrigger(
                day_of_week=self.settings.digest_weekday,
                hour=self.settings.digest_time.hour,
                minute=self.settings.digest_time.minute,
                timezone=ZoneInfo(self.settings.practice_timezone),
            ),
            args=[self.digest],
            id="digest",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=6 * 3600,  # a worker restarted mid-morning still posts it
        )
        self._scheduler.start()
        log.info("scheduler started: tick every %d s, digest weekly", tick_seconds)

    def tick(self) -> None:
        if self.inbound is not None:
            self.inbound.drain(wait=False)  # another applier holding the turn applies them
        deliver = max(1.0, self.settings.tick_seconds * DELIVERY_SHARE)
        tick_and_deliver(
            self.services, self.dispatcher, stop=self.stopping, deliver_seconds=deliver
        )

    def digest(self) -> None:
        key = self.services.digest.queue_weekly_digest()
        if key is None:
            log.info("weekly digest: nothing to report (or already posted)")
            return
        if self.dispatcher is not None:
            self.dispatcher.deliver([key])

    def _run(self, job: Any) -> None:
        if self.stopping.is_set():
            return
        self.idle.clear()
        try:
            job()
        except Exception:
            log.exception("the scheduled %s failed; the next run retries", job.__name__)
        finally:
            self.idle.set()

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Claim nothing new, let the job in hand finish or hand back its work; True when
        it did within `timeout`."""
        self.stopping.set()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        self._scheduler.shutdown(wait=False)
        finished = self.idle.wait(timeout)
        if not finished:
            log.warning("the running job did not finish within %.0f s; leases will expire", timeout)
        return finished


def run_until_signalled(scheduler: Scheduler) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT (the worker process)."""
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the work in hand", signal.Signals(signum).name)
        done.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        done.wait()
    finally:
        scheduler.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
