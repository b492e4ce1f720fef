"""The embedding progress bar's rate and time left are averages since the start: results that arrive in
bursts (a Ray Data batch of hundreds of tasks at once) do not make the rate absurd."""

from __future__ import annotations

import pytest
from rich.progress import Progress

from taxospec.embeddings.progress import average_rate, columns, seconds_left


def _rendered(burst_at: float, burst: int, total: int, now: float) -> tuple[str, str]:
    clock = [0.0]
    rate, left = columns()
    bar = Progress(rate, left, get_time=lambda: clock[0], auto_refresh=False, disable=True)
    task_id = bar.add_task("embedding", total=total)
    clock[0] = burst_at
    for _ in range(burst):  # every task of the burst in the same instant
        bar.advance(task_id, 1)
    clock[0] = now
    [task] = bar.tasks
    return str(rate.render(task)), str(left.render(task))


def test_a_burst_of_results_gives_the_average_rate_not_a_burst_rate() -> None:
    rate, left = _rendered(burst_at=10.0, burst=128, total=150, now=10.0)
    assert rate == "12.8 tasks/s"  # 128 tasks in 10 s (rich's own estimate: 128 over the burst's microseconds)
    assert left == "0:00:02"  # 22 more at 12.8 a second


def test_nothing_done_yet_shows_no_rate_and_no_time_left() -> None:
    assert _rendered(burst_at=5.0, burst=0, total=150, now=5.0) == ("– tasks/s", "-:--:--")


@pytest.mark.parametrize(
    ("total", "completed", "elapsed", "rate", "left"),
    [
        (100, 25, 5.0, 5.0, 15.0),
        (100, 100, 20.0, 5.0, 0.0),
        (100, 0, 5.0, None, None),
        (100, 10, 0.0, None, None),
        (100, 10, None, None, None),
        (None, 10, 2.0, 5.0, None),
    ],
)
def test_the_average_rate_and_time_left(
    total: int | None, completed: int, elapsed: float | None, rate: float | None, left: float | None
) -> None:
    assert average_rate(completed, elapsed) == rate
    assert seconds_left(total, completed, elapsed) == left
