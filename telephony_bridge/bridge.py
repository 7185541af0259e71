"""Wires the pieces together: AMI client → call tracker → outcome queue → poster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from .calls import CallTracker
from .client import AmiClient
from .poster import OutcomeQueue, Poster
from .settings import Settings

log = logging.getLogger(__name__)


class Bridge:
    """One running bridge; ``run`` returns when ``stop`` is called or the login is refused for good."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.tracker = CallTracker(settings.pbx_id, settings.call_rules())
        self.outcomes = OutcomeQueue(settings.bridge_queue_size)
        self.poster = Poster(settings.huiyin_api_url, settings.huiyin_api_token,
                             timeout=settings.huiyin_post_timeout, retry_min=settings.huiyin_retry_min,
                             retry_max=settings.huiyin_retry_max)
        self.client = AmiClient(settings, self.tracker, self.outcomes, clock)
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def _tick(self) -> None:
        """Finish calls whose last channel hung up, even while the AMI link is down."""
        while True:
            await asyncio.sleep(self.settings.call_tick_interval)
            for outcome in self.tracker.tick(self.clock()):
                self.outcomes.put(outcome)

    async def run(self, drain_timeout: float = 5.0) -> None:
        """Run until stopped; then give the poster a little time to deliver what is queued."""
        tasks = [asyncio.create_task(self.client.run_forever(), name="ami"),
                 asyncio.create_task(self.poster.run(self.outcomes), name="poster"),
                 asyncio.create_task(self._tick(), name="tick")]
        stopper = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait([tasks[0], stopper], return_when=asyncio.FIRST_COMPLETED)
            tasks[0].cancel()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.outcomes.queue.join(), drain_timeout)
        finally:
            for task in [*tasks, stopper]:
                task.cancel()
            results = await asyncio.gather(*tasks, stopper, return_exceptions=True)
        if self.outcomes.queue.qsize():
            log.warning("%d outcomes not delivered at shutdown", self.outcomes.queue.qsize())
        error = results[0]
        if isinstance(error, Exception):
            raise error
