"""The fuzzing harness: a time-budgeted loop of seeded mutations, each input bounded in time, each
failure kept for reproduction.

`make test` gives every target `TAXOSPEC_FUZZ_SECONDS` (default 3 s) with the fixed seed 0, so the same
inputs run each time; `make fuzz` gives each target a quarter of an hour with a fresh seed (printed, and
kept with any failure). An input that takes longer than `HANG_SECONDS` is a hang: the budget is a
property of the run, the hang bound a property of each input.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FAILURES = ROOT / "build" / "fuzz-failures"
HANG_SECONDS = 60
"""Seconds one input may take before it counts as a hang (generous: a slow shared machine is no hang)."""


def budget() -> float:
    """Seconds each fuzz target runs for."""
    return float(os.environ.get("TAXOSPEC_FUZZ_SECONDS", "3"))


def seed() -> int:
    """The seed of this run's mutations."""
    return int(os.environ.get("TAXOSPEC_FUZZ_SEED", "0"))


class Hang(Exception):
    """An input that ran past `HANG_SECONDS`."""


@contextmanager
def bounded(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Raise `Hang` in the main thread when the block runs past `seconds`."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(target: str, make: Callable[[random.Random], Any], attempt: Callable[[Any], None]) -> int:
    """Feed `attempt` inputs from `make` for the budget; an input that fails (an assertion, an exception,
    a hang) is written to build/fuzz-failures/ and the failure re-raised. Returns how many inputs ran."""
    rng = random.Random(f"{target}:{seed()}")
    deadline = time.monotonic() + budget()
    count = 0
    while count == 0 or time.monotonic() < deadline:
        data = make(rng)
        try:
            with bounded():
                attempt(data)
        except BaseException:
            keep(target, count, data)
            raise
        count += 1
    return count


def keep(target: str, number: int, data: Any) -> Path:
    """Write a failing input where a person can re-run it."""
    FAILURES.mkdir(parents=True, exist_ok=True)
    path = FAILURES / f"{target}-seed{seed()}-{number}"
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_text(repr(data), encoding="utf-8", errors="backslashreplace")
    return path


WEIRD_STRINGS = [
    "",
    "\x00",
    "\ud800",
    "a\udcffb",
    "\u202e",
    "é" * 3,
    "../../etc/passwd",
    "%2e%2e%2f",
    "x" * 5000,
    "<View/>",
    "1e999",
    "null",
    "[" * 3000,
    '{"a":' * 3000,
]


def weird_value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of a kind an export could be damaged into."""
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**63, -(2**64), 10**40, 17])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-320, math.inf, -math.inf, math.nan])
    if kind == 4:
        return rng.choice(WEIRD_STRINGS)
    if kind == 5 and depth < 3:
        return [weird_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6 and depth < 3:
        return {rng.choice(["id", "value", "x", "from_name", "type", "result", "data"]): weird_value(rng, depth + 1)}
    if kind == 7:
        nested: Any = 1
        for _ in range(rng.choice([10, 50, 200])):  # deeper nesting comes as text (`mutate_text`)
            nested = [nested]
        return nested
    return rng.choice(["rectanglelabels", "choices", "label", "image", 3.5, -7, "timeline"])


def mutate_json(value: Any, rng: random.Random) -> Any:
    """`value` with one random node replaced, deleted, duplicated or re-typed (a structure-aware mutation)."""
    paths = list(_paths(value))
    if not paths:
        return weird_value(rng)
    path = rng.choice(paths)
    if not path:
        return weird_value(rng)
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.randrange(4)
    if action == 0:
        parent[last] = weird_value(rng)
    elif action == 1:
        del parent[last]
    elif action == 2 and isinstance(parent, list):
        parent.insert(last, json.loads(json.dumps(parent[last], allow_nan=True)))
    else:
        parent[last] = rng.choice([[], {}, "", None, [parent[last]]])
    return value


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key in list(value):
            yield from _paths(value[key], (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


def mutate_text(text: str, rng: random.Random) -> str:
    """`text` cut, spliced or sprinkled with odd characters (a byte-level mutation, in characters)."""
    for _ in range(rng.randrange(1, 4)):
        i = rng.randrange(len(text) + 1)
        action = rng.randrange(4)
        if action == 0:
            text = text[:i]  # truncation, at any depth
        elif action == 1:
            text = text[:i] + rng.choice(WEIRD_STRINGS + list('[]{},:"\\')) + text[i:]
        elif action == 2:
            j = min(len(text), i + rng.randrange(50))
            text = text[:i] + text[j:]
        else:
            j = rng.randrange(len(text) + 1)
            text = text[:i] + text[min(i, j) : max(i, j)] + text[i:]
    return text
