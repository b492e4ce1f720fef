"""Which neighbour search moves the outlier flags? `findings_agreement.py`'s comparison of the approximate
check with exact search, for the two label checks alone, with the outlier check's per-class graphs made
approximate from a smaller size than `APPROXIMATE_ABOVE` (`--class-approximate-above`: at 1 million
examples a class of 83,000 is above it, at 200,000 one of 16,700 is not) and its `FENCE_SAMPLE` set
(`--fence-sample`). The data and the exact run's flags are kept in `--work`, so each further variant costs
one approximate check; the other embedding checks are switched off (the two label checks' flags do not
depend on them).

    .venv/bin/python benchmarks/outlier_agreement.py --size 200000                      # exact run + variant
    .venv/bin/python benchmarks/outlier_agreement.py --size 200000 --class-approximate-above 10000
    .venv/bin/python benchmarks/outlier_agreement.py --size 200000 --class-approximate-above 10000 --fence-sample 0

To measure an earlier commit's outlier check, put its `src` first on PYTHONPATH (a `git worktree`).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_memory
import findings_agreement
from _common import patched

CODES = ("likely-mislabel", "outlier")
OFF = "checks: {near-duplicate: {enabled: false}, duplicate-across-splits: {enabled: false}, "
OFF += "hard-negative-confusion: {enabled: false}}\n"


def prepared(work: Path, size: int) -> tuple[Path, Path, Path]:
    """The spec (the other embedding checks off), export and embeddings of `size` in `work`, generated once."""
    folder = work / str(size)
    done = folder / "generated"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        spec, _, _ = check_memory.generate(folder, size)
        spec.write_text(spec.read_text() + OFF)
        done.touch()
    return folder / "spec.yaml", folder / "export.json", folder / "embeddings.npz"


def exact_flags(work: Path, size: int) -> dict[str, set[int]]:
    """The exact run's flagged tasks per code, checked once and kept in `work`."""
    saved = work / str(size) / "exact.json"
    if not saved.exists():
        flags, seconds = findings_agreement.run(*prepared(work, size), exact=True, pruned=True)
        saved.write_text(json.dumps({"seconds": seconds} | {c: sorted(flags.get(c, set())) for c in CODES}))
    loaded = json.loads(saved.read_text())
    return {code: set(loaded[code]) for code in CODES}


def approximate_flags(
    work: Path, size: int, class_above: int | None, fence_sample: int | None
) -> tuple[dict[str, set[int]], float]:
    """The approximate run's flagged tasks per code and its seconds, with the variant's settings."""
    from taxospec.embeddings.index import NeighborIndex
    from taxospec.scores import outliers

    class_index = partial(NeighborIndex, approximate_above=class_above) if class_above is not None else None
    with patched(outliers, NeighborIndex=class_index, FENCE_SAMPLE=fence_sample):
        return findings_agreement.run(*prepared(work, size), exact=False)


def main() -> None:
    """Print one variant's agreement with exact search (markdown rows)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=Path("build/outlier-agreement"))
    parser.add_argument("--class-approximate-above", type=int, default=None)
    parser.add_argument("--fence-sample", type=int, default=None)
    args = parser.parse_args()
    exact = exact_flags(args.work, args.size)
    flags, seconds = approximate_flags(args.work, args.size, args.class_approximate_above, args.fence_sample)
    variant = f"class graphs approximate above {args.class_approximate_above or 'APPROXIMATE_ABOVE'}"
    variant += f", fence sample {args.fence_sample if args.fence_sample is not None else 'FENCE_SAMPLE'}"
    print(f"{args.size:,} examples, {variant}: approximate check {seconds:.0f} s\n")
    print("| check | flagged (exact) | flagged (approximate) | both | Jaccard |")
    print("|---|---:|---:|---:|---:|")
    for code in CODES:
        a, e = flags.get(code, set()), exact[code]
        union = a | e
        print(f"| `{code}` | {len(e)} | {len(a)} | {len(a & e)} | {len(a & e) / len(union) if union else 1.0:.3f} |")


if __name__ == "__main__":
    main()
