"""The findings with the approximate index against exact search, on the same data in one run: does the
float16 inverted file change what `taxospec check` reports? (`--compare float16`: does holding the space in
float16, as a space above `HALF_ABOVE` rows is held, change it? `--compare sq8`: do the 8-bit lists
taxospec uses above `EIGHT_BIT_ABOVE` vectors?)

A synthetic export with precomputed 512-wide embeddings (`check_memory.py`'s generator: 12 classes, 2 %
planted mislabels) is checked twice in this process — once as taxospec runs it (above 50,000 vectors the
IVF-SQfp16 index), once with exact search forced (the index's threshold raised past the size) — and the
tasks each embedding check flags are compared: the share of flagged tasks both runs report (Jaccard) and
how many only one run reports. Exact search over every row is n² work (hours at 1 M on a CPU):
`--compare sampled` searches exactly only for every row the approximate run flagged and a random sample of
the rest, counts the flags the two share and estimates those only exact search gives (`_exact_sample.py`;
`--with-exact` adds the whole exact run on the same data, to measure the estimate against).

    .venv/bin/python benchmarks/findings_agreement.py --size 200000       # ~15 min on 2 cores
    .venv/bin/python benchmarks/findings_agreement.py --size 1000000 --exact-device cuda   # a GPU machine
    .venv/bin/python benchmarks/findings_agreement.py --size 200000 --compare sampled --with-exact  # ~20 min
    .venv/bin/python benchmarks/findings_agreement.py --size 1000000 --compare sampled     # ~1 h on 2 cores
    .venv/bin/python benchmarks/findings_agreement.py --size 200000 --compare float16      # ~6 min
    .venv/bin/python benchmarks/findings_agreement.py --size 200000 --compare sq8          # ~6 min
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _exact_sample
import check_memory

CODES = ("likely-mislabel", "outlier", "near-duplicate", "duplicate-across-splits", "hard-negative-confusion")


def flagged(report: object) -> dict[str, set[int]]:
    """Per code, the tasks its findings name."""
    out: dict[str, set[int]] = defaultdict(set)
    for finding in report.findings:  # type: ignore[attr-defined]
        if finding.code in CODES and finding.task_id is not None:
            out[finding.code].add(finding.task_id)
            out[finding.code].update(finding.related_tasks)
    return out


class Checked(NamedTuple):
    """What one check flagged, per code, its seconds, and its examples' task ids in row order."""

    flags: dict[str, set[int]]
    seconds: float
    tasks: npt.NDArray[np.int64]


def run(
    spec: Path,
    export: Path,
    embeddings: Path,
    exact: bool,
    device: str = "cpu",
    sizes: dict[str, int] | None = None,
    within: AbstractContextManager[None] | None = None,
) -> Checked:
    """One check's flagged tasks (its neighbour search on `device`; the sizes named in `sizes` —
    `HALF_ABOVE`, `EIGHT_BIT_ABOVE` — set for it; run inside `within`)."""
    from taxospec import check
    from taxospec.embeddings import index
    from taxospec.scores import chunked

    defaults = index.NeighborIndex.__init__.__kwdefaults__
    saved = dict(defaults), chunked.HALF_ABOVE, index.EIGHT_BIT_ABOVE
    if exact:
        defaults["approximate_above"] = 10**12
    sizes = sizes or {}
    if "HALF_ABOVE" in sizes:
        chunked.HALF_ABOVE = sizes["HALF_ABOVE"]
    index.EIGHT_BIT_ABOVE = sizes.get("EIGHT_BIT_ABOVE", index.EIGHT_BIT_ABOVE)
    try:
        began = time.perf_counter()
        with within or nullcontext():
            report = check(spec, export, embeddings=embeddings, device=device)
        return Checked(flagged(report), time.perf_counter() - began, report.scores.examples.task_ids())
    finally:
        defaults.clear()
        defaults.update(saved[0])
        chunked.HALF_ABOVE = saved[1]
        index.EIGHT_BIT_ABOVE = saved[2]


def main() -> None:
    """Check twice (three times with `--compare sampled --with-exact`) and print the agreement (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument(
        "--exact-device",
        default="cpu",
        help="where the exact search runs: cpu, or cuda on a GPU machine (exact at any size, minutes at 1 M); "
        "the approximate run is always the CPU's float16 inverted file",
    )
    parser.add_argument(
        "--compare",
        choices=("exact", "sampled", "float16", "sq8"),
        default="exact",
        help="exact: the approximate index against exact search; sampled: against exact search for every row "
        "the approximate run flagged and a random sample of the rest (`_exact_sample.py`); float16: the space "
        "held in float32 against the same check with it held in float16 (both with the approximate index); "
        "sq8: the inverted file's float16 lists against 8-bit ones (IVF-SQ8, taxospec's above EIGHT_BIT_ABOVE)",
    )
    parser.add_argument("--sample", type=int, default=20_000, help="sampled: the random rows beside the flagged")
    parser.add_argument("--with-exact", action="store_true", help="sampled: also the whole exact run, to compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec, export, embeddings = check_memory.generate(Path(tmp), args.size)
        if args.compare == "sampled":
            sampled(spec, export, embeddings, args.sample, args.with_exact)
            return
        if args.compare == "exact":
            names = ("exact", "approximate")
            other = run(spec, export, embeddings, exact=False)
            base = run(spec, export, embeddings, exact=True, device=args.exact_device)
        elif args.compare == "float16":
            names = ("float32", "float16")
            base = run(spec, export, embeddings, exact=False, sizes={"HALF_ABOVE": 10**12})
            other = run(spec, export, embeddings, exact=False, sizes={"HALF_ABOVE": 0})
        else:
            names = ("float16 lists", "8-bit lists")
            base = run(spec, export, embeddings, exact=False, sizes={"EIGHT_BIT_ABOVE": 10**12})
            other = run(spec, export, embeddings, exact=False, sizes={"EIGHT_BIT_ABOVE": 0})
    print(f"{args.size:,} examples: {names[1]} {other.seconds:.0f} s, {names[0]} {base.seconds:.0f} s\n")
    table(names, base.flags, other.flags)


def table(names: tuple[str, str], base: dict[str, set[int]], other: dict[str, set[int]]) -> None:
    """Per code, the flags of the `base` run (`names[0]`) against the `other`'s (markdown)."""
    first, second = names
    print(f"| check | flagged ({first}) | flagged ({second}) | both | only {first} | only {second} | Jaccard |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for code in CODES:
        a, e = other.get(code, set()), base.get(code, set())
        union = a | e
        jaccard = len(a & e) / len(union) if union else 1.0
        print(f"| `{code}` | {len(e)} | {len(a)} | {len(a & e)} | {len(e - a)} | {len(a - e)} | {jaccard:.3f} |")


def sampled(spec: Path, export: Path, embeddings: Path, others: int, with_exact: bool) -> None:
    """The approximate check, then exact search for its flagged rows and `others` random rows: the agreement
    counted and estimated (and, `with_exact`, the whole exact run's beside it, on the same data)."""
    approximate = run(spec, export, embeddings, exact=False)
    row_of = {task: row for row, task in enumerate(approximate.tasks.tolist())}
    flagged_any = set().union(*approximate.flags.values())
    flagged_rows = np.asarray(sorted(row_of[t] for t in flagged_any), dtype=np.int64)
    rows = _exact_sample.sample_rows(flagged_rows, len(row_of), others)
    tasks = set(approximate.tasks[rows].tolist())
    drawn = tasks - flagged_any
    exact = run(spec, export, embeddings, exact=False, within=_exact_sample.exact_for(rows, len(row_of)))
    print(f"{len(row_of):,} examples: approximate {approximate.seconds:.0f} s; exact search for {len(rows):,} rows")
    print(f"({len(flagged_any):,} flagged, {len(drawn):,} drawn from the rest) {exact.seconds:.0f} s\n")
    print("| check | flagged (approximate) | both | only approximate | only exact (estimated, 95 %) | Jaccard |")
    print("|---|---:|---:|---:|---:|---:|")
    unflagged = len(row_of) - len(flagged_any)
    for code in CODES:
        got = _exact_sample.estimate(
            approximate.flags.get(code, set()), exact.flags.get(code, set()) & tasks, flagged_any, drawn, unflagged
        )
        print(
            f"| `{code}` | {got['approximate']:.0f} | {got['both']:.0f} | {got['only_approximate']:.0f} | "
            f"{got['only_exact']:.0f} ({got['only_exact_low']:.0f}–{got['only_exact_high']:.0f}) | "
            f"{got['jaccard']:.3f} |"
        )
    if with_exact:
        whole = run(spec, export, embeddings, exact=True)
        print(f"\nThe whole exact run, {whole.seconds:.0f} s:\n")
        table(("exact", "approximate"), whole.flags, approximate.flags)


if __name__ == "__main__":
    main()
