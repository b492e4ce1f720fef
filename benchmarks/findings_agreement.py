"""The findings with the approximate index against exact search, on the same data in one run: does the
float16 inverted file change what `taxospec check` reports? (`--compare float16`: does holding the space in
float16, as a space above `HALF_ABOVE` rows is held, change it? `--compare sq8`: do the 8-bit lists
taxospec uses above `EIGHT_BIT_ABOVE` vectors?)

A synthetic export with precomputed 512-wide embeddings (`check_memory.py`'s generator: 12 classes, 2 %
planted mislabels) is checked twice in this process — once as taxospec runs it (above 50,000 vectors the
IVF-SQfp16 index), once with exact search forced (the index's threshold raised past the size) — and the
tasks each embedding check flags are compared: the share of flagged tasks both runs report (Jaccard) and
how many only one run reports. Exact search is n² work; on the CPU its graphs above 100,000 vectors are
searched by brute force pruned by the triangle inequality (`_pruned_exact.py`: the same neighbours as the
flat index, for a fifth of the work or less on these data; `--compare pruned` checks that they flag the same).

    .venv/bin/python benchmarks/findings_agreement.py --size 200000       # ~10 min on 2 cores
    .venv/bin/python benchmarks/findings_agreement.py --size 1000000      # ~75 min on 2 cores
    .venv/bin/python benchmarks/findings_agreement.py --size 1000000 --exact-device cuda   # a GPU machine
    .venv/bin/python benchmarks/findings_agreement.py --size 200000 --compare pruned       # the two exact searches
    .venv/bin/python benchmarks/findings_agreement.py --size 200000 --compare float16      # ~6 min
    .venv/bin/python benchmarks/findings_agreement.py --size 200000 --compare sq8          # ~6 min
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _pruned_exact
import check_memory
from _common import approximate_above, patched

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
    spec: Path,
    export: Path,
    embeddings: Path,
    exact: bool,
    device: str = "cpu",
    sizes: dict[str, int] | None = None,
    pruned: bool = False,
) -> tuple[dict[str, set[int]], float]:
    """The flagged tasks of one check (its neighbour search on `device`; the sizes named in `sizes` —
    `HALF_ABOVE`, `EIGHT_BIT_ABOVE` — set for it; with `exact` and `pruned`, its large exact graphs searched
    by `_pruned_exact`), and its seconds."""
    from taxospec import check
    from taxospec.embeddings import index
    from taxospec.scores import chunked

    sizes = sizes or {}
    with (
        approximate_above(10**12 if exact else None),
        patched(chunked, HALF_ABOVE=sizes.get("HALF_ABOVE")),
        patched(index, EIGHT_BIT_ABOVE=sizes.get("EIGHT_BIT_ABOVE")),
        _pruned_exact.instead_of_flat() if exact and pruned else nullcontext(),
    ):
        began = time.perf_counter()
        report = check(spec, export, embeddings=embeddings, device=device)
        return flagged(report), time.perf_counter() - began


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
    parser.add_argument(
        "--exact-search",
        choices=("pruned", "flat"),
        default="pruned",
        help="on the CPU, exact graphs above 100,000 vectors searched by brute force pruned by the triangle "
        "inequality (`_pruned_exact.py`: the same neighbours) or by faiss's flat index (n² work)",
    )
    parser.add_argument(
        "--compare",
        choices=("exact", "pruned", "float16", "sq8"),
        default="exact",
        help="exact: the approximate index against exact search; pruned: exact search by the flat index against "
        "the pruned one (they should flag the same); float16: the space held in float32 against "
        "the same check with it held in float16 (both with the approximate index); sq8: the inverted file's "
        "float16 lists against 8-bit ones (IVF-SQ8, taxospec's above EIGHT_BIT_ABOVE)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec, export, embeddings = check_memory.generate(Path(tmp), args.size)
        if args.compare == "exact":
            names = ("exact", "approximate")
            other, t_other = run(spec, export, embeddings, exact=False)
            pruned = args.exact_search == "pruned"
            base, t_base = run(spec, export, embeddings, exact=True, device=args.exact_device, pruned=pruned)
        elif args.compare == "pruned":
            names = ("flat", "pruned")
            base, t_base = run(spec, export, embeddings, exact=True)
            other, t_other = run(spec, export, embeddings, exact=True, pruned=True)
        elif args.compare == "float16":
            names = ("float32", "float16")
            base, t_base = run(spec, export, embeddings, exact=False, sizes={"HALF_ABOVE": 10**12})
            other, t_other = run(spec, export, embeddings, exact=False, sizes={"HALF_ABOVE": 0})
        else:
            names = ("float16 lists", "8-bit lists")
            base, t_base = run(spec, export, embeddings, exact=False, sizes={"EIGHT_BIT_ABOVE": 10**12})
            other, t_other = run(spec, export, embeddings, exact=False, sizes={"EIGHT_BIT_ABOVE": 0})
    print(f"{args.size:,} examples: {names[1]} {t_other:.0f} s, {names[0]} {t_base:.0f} s\n")
    first, second = names
    print(f"| check | flagged ({first}) | flagged ({second}) | both | only {first} | only {second} | Jaccard |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for code in CODES:
        a, e = other.get(code, set()), base.get(code, set())
        union = a | e
        jaccard = len(a & e) / len(union) if union else 1.0
        print(f"| `{code}` | {len(e)} | {len(a)} | {len(a & e)} | {len(e - a)} | {len(a - e)} | {jaccard:.3f} |")


if __name__ == "__main__":
    main()
