"""The findings with the approximate index against exact search, on the same data in one run: does the
float16 inverted file change what `taxospec check` reports?

A synthetic export with precomputed 512-wide embeddings (`check_memory.py`'s generator: 12 classes, 2 %
planted mislabels) is checked twice in this process — once as taxospec runs it (above 50,000 vectors the
IVF-SQfp16 index), once with exact search forced (the index's threshold raised past the size) — and the
tasks each embedding check flags are compared: the share of flagged tasks both runs report (Jaccard) and
how many only one run reports.

    .venv/bin/python benchmarks/findings_agreement.py --size 200000       # ~15 min on 2 cores
    .venv/bin/python benchmarks/findings_agreement.py --size 1000000 --exact-device cuda   # a GPU machine
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def run(
    spec: Path, export: Path, embeddings: Path, exact: bool, device: str = "cpu"
) -> tuple[dict[str, set[int]], float]:
    """The flagged tasks of one check (its neighbour search on `device`), and its seconds."""
    from taxospec import check
    from taxospec.embeddings import index

    defaults = index.NeighborIndex.__init__.__kwdefaults__
    saved = dict(defaults)
    if exact:
        defaults["approximate_above"] = 10**12
    try:
        began = time.perf_counter()
        report = check(spec, export, embeddings=embeddings, device=device)
        return flagged(report), time.perf_counter() - began
    finally:
        defaults.clear()
        defaults.update(saved)


def main() -> None:
    """Check twice and print the agreement (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument(
        "--exact-device",
        default="cpu",
        help="where the exact search runs: cpu, or cuda on a GPU machine (exact at any size, minutes at 1 M); "
        "the approximate run is always the CPU's float16 inverted file",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec, export, embeddings = check_memory.generate(Path(tmp), args.size)
        approximate, t_approx = run(spec, export, embeddings, exact=False)
        exact, t_exact = run(spec, export, embeddings, exact=True, device=args.exact_device)
    print(f"{args.size:,} examples: approximate {t_approx:.0f} s, exact {t_exact:.0f} s\n")
    print("| check | flagged (exact) | flagged (approximate) | both | only exact | only approximate | Jaccard |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for code in CODES:
        a, e = approximate.get(code, set()), exact.get(code, set())
        union = a | e
        jaccard = len(a & e) / len(union) if union else 1.0
        print(f"| `{code}` | {len(e)} | {len(a)} | {len(a & e)} | {len(e - a)} | {len(a - e)} | {jaccard:.3f} |")


if __name__ == "__main__":
    main()
