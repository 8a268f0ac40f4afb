"""Progress of a long step as log lines, for when nobody watches a terminal (Airflow, cron, a pipe).

    with ProgressLog("enrich", total=len(ids)) as progress:
        for batch in batches:
            ...
            progress.advance(len(batch))

logs, at most every `every` seconds and once at the end::

    enrich: 1200/5000 (24%), 41.3/s, ETA 1m32s
    enrich: 5000/5000 (100%), 40.8/s, done in 2m03s

With `total=None` (a crawl, where the count is not known ahead) it logs the count and the rate.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

logger = logging.getLogger(__name__)


def is_terminal(stream: TextIO | None = None) -> bool:
    """True when `stream` (default stdout) is an interactive terminal."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def format_duration(seconds: float) -> str:
    """`4s`, `1m32s`, `2h05m`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressLog:
    """Counts work done and logs done/total, rate and ETA every `every` seconds and at the end."""

    def __init__(
        self,
        step: str,
        total: int | None = None,
        *,
        every: float = 5.0,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if every <= 0:
            raise ValueError(f"ProgressLog every={every!r}: must be a positive number of seconds")
        self.step = step
        self.total = total
        self.every = every
        self.done = 0
        self._log = log or logger
        self._clock = clock
        self._start = clock()
        self._last = self._start
        self._finished = False

    def advance(self, n: int = 1) -> None:
        """Record `n` more items done; log when `every` seconds passed since the last line."""
        self.done += n
        now = self._clock()
        if now - self._last >= self.every:
            self._last = now
            self._log.info("%s", self.line(now))

    def __call__(self, n: int = 1) -> None:
        """So that a `ProgressLog` can be passed where a `progress(n)` callback is expected."""
        self.advance(n)

    def finish(self) -> None:
        """Log the final line (once)."""
        if not self._finished:
            self._finished = True
            self._log.info("%s", self.line(self._clock(), final=True))

    def line(self, now: float | None = None, *, final: bool = False) -> str:
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        count = f"{self.done}"
        if self.total:
            count = f"{self.done}/{self.total} ({100 * self.done / self.total:.0f}%)"
        text = f"{self.step}: {count}, {rate:.1f}/s"
        if final:
            return f"{text}, done in {format_duration(elapsed)}"
        if self.total and rate > 0:
            text += f", ETA {format_duration(max(self.total - self.done, 0) / rate)}"
        return text

    def __enter__(self) -> ProgressLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish()
