"""The embedding stage's progress bar on stderr: tasks done, their rate and the time left.

The rate is the average since the bar started, not rich's estimate over its last samples: results arrive
in bursts (a Ray Data batch of a few hundred tasks at once, a worker's chunk), and an estimate over a
burst divides it by the milliseconds between its own samples — hundreds of thousands of tasks a second.
"""

from __future__ import annotations

import sys
from typing import Any


def average_rate(completed: float, elapsed: float | None) -> float | None:
    """Tasks a second since the start (None until a task is done and time has passed)."""
    if not completed or not elapsed or elapsed <= 0:
        return None
    return completed / elapsed


def seconds_left(total: float | None, completed: float, elapsed: float | None) -> float | None:
    """The time left at the average rate (None while there is no rate)."""
    rate = average_rate(completed, elapsed)
    if rate is None or total is None:
        return None
    return max(0.0, total - completed) / rate


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class progress_bar:
    """A rich progress bar with rate and ETA on stderr (a no-op when turned off); entered, it gives the
    function that advances it by a count of tasks."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and total > 0
        self.total = total

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda count: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            *columns(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("embedding", total=self.total)
        return lambda count: self.bar.advance(task, count)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()


def columns() -> list[Any]:
    """The bar's rate and time-left columns (rich `ProgressColumn`s reading a task's average rate)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            rate = average_rate(task.completed, task.elapsed)
            return Text(f"{rate:.1f} tasks/s" if rate is not None else "– tasks/s")

    class Left(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(_clock(seconds_left(task.total, task.completed, task.elapsed)), style="progress.remaining")

    return [Rate(), Left()]
