"""How much memory the label evidence (`scores.label_issues.label_evidence`: neighbour vote, linear probe,
confident learning) takes per example, by the number of classes: its class probabilities are
`examples × classes` float64, so at many classes they, not the vectors, set how many examples one machine
checks.

For each class count, synthetic features (64 wide, Gaussian classes) and a random 32-neighbour graph at
two sizes; the peak of traced allocations (tracemalloc, which numpy reports to) above what was held before
the call. The per-example cost is the slope between the two sizes (the chunked work's fixed ~100 MB drops
out), printed in bytes and in copies of one `examples × classes` float64 matrix — the unit it is measured
against in the same run. `--predictions` gives 70 % of the examples a prediction of the team's own model
(a third source, multiplied in), made before the trace starts as an export's are.

    .venv/bin/python benchmarks/label_evidence_memory.py                       # ~1 min on 2 cores
    .venv/bin/python benchmarks/label_evidence_memory.py --predictions
    .venv/bin/python benchmarks/label_evidence_memory.py --sizes 200000 800000 --classes 12 100 300
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

DIM, K = 64, 32


def peak(size: int, classes: int, predicted: bool = False) -> tuple[int, float]:
    """The traced peak (bytes) of one `label_evidence` call on `size` examples of `classes`, and seconds
    (`predicted`: with the team's predictions for 70 % of them)."""
    from taxospec.scores.label_issues import label_evidence

    rng = np.random.default_rng(0)
    labels = rng.integers(0, classes, size)
    noisy = np.where(rng.random(size) < 0.02, rng.integers(0, classes, size), labels)  # (two rounds run)
    features = (rng.normal(size=(classes, DIM)) * 2)[labels].astype(np.float32)
    features += rng.normal(size=features.shape).astype(np.float32)
    ids = rng.integers(0, size, size=(size, K)).astype(np.int32)
    predictions = None
    if predicted:
        predictions = rng.dirichlet(np.ones(classes), size)
        predictions[rng.random(size) < 0.3] = np.nan
    tracemalloc.start()
    held = tracemalloc.get_traced_memory()[0]
    began = time.perf_counter()
    label_evidence(features, noisy, classes, ids, predictions=predictions)
    seconds = time.perf_counter() - began
    top = tracemalloc.get_traced_memory()[1] - held
    tracemalloc.stop()
    return top, seconds


def main() -> None:
    """Print one markdown row per class count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[200_000, 400_000])
    parser.add_argument("--classes", type=int, nargs="+", default=[12, 100])
    parser.add_argument("--predictions", action="store_true", help="the team's predictions for 70 % of them")
    args = parser.parse_args()
    small, large = args.sizes
    print(f"| classes | peak at {small:,} | peak at {large:,} | per example | in probability copies | seconds |")
    print("|---:|---:|---:|---:|---:|---:|")
    for classes in args.classes:
        (low, _), (high, seconds) = peak(small, classes, args.predictions), peak(large, classes, args.predictions)
        slope = (high - low) / (large - small)
        print(f"| {classes} | {low / 2**20:.0f} MiB | {high / 2**20:.0f} MiB | {slope:.0f} B ", end="")
        print(f"| {slope / (8 * classes):.1f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
