"""How many examples must the outlier check search exactly for its fences over an approximate graph?
(`scores.outliers.FENCE_SAMPLE`, chosen here on a suite, not on one dataset.)

Above `APPROXIMATE_ABOVE` examples a class's neighbour graph is an inverted file, whose distances are never
below exact search's: the outlier check therefore takes a class's fences (and the dataset's any-class fence)
from the exact distances of a seeded sample of its examples. Too small a sample moves the fences by its
sampling noise; too large a one is brute force of sample × rows. The suite: three geometries (Gaussian classes
of different spread, heavy-tailed Student-t classes, classes that are mixtures of uneven modes) × three noise
models (atypical examples of a class, 1 to 2.5 times its radius from its centre; the same with 2 % of labels
swapped to another class; tight clusters of six examples of things the taxonomy lacks, given random labels) ×
seeds. Each dataset's outliers are found with exact search (the reference) and with approximate graphs (here
above `--approximate-above` rows, so that classes of `--per-class` are approximate as 83,000-example classes
are at 1 million) for each sample size (0: no sample, the fences of the approximate distances); printed: the
Jaccard of the flags with exact search's, the fences' largest relative error, the seconds of the search and
`find_outliers`, as mean ± standard deviation over seeds and datasets.

    .venv/bin/python benchmarks/fence_sample.py                      # ~4 min on 2 cores
    .venv/bin/python benchmarks/fence_sample.py --seeds 2 --per-class 5000 --samples 256 1024   # a quick look
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import approximate_above, patched

GEOMETRIES = ("gaussian", "heavy-tailed", "multimodal")
NOISE = ("atypical", "atypical+swapped", "novel-clusters")
CLASSES, DIM, K = 4, 48, 10


def dataset(
    geometry: str, noise: str, seed: int, per_class: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Vectors and labels of one suite member."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(CLASSES), per_class)
    centres = rng.normal(size=(CLASSES, DIM)) * 4
    spread = rng.uniform(0.6, 1.4, size=CLASSES)[labels, None]
    if geometry == "gaussian":
        offsets = rng.normal(size=(len(labels), DIM))
    elif geometry == "heavy-tailed":
        offsets = rng.standard_t(3, size=(len(labels), DIM)) / np.sqrt(3.0)
    else:  # four modes a class, of weights 55/25/15/5 %
        modes = rng.normal(size=(CLASSES, 4, DIM)) * 1.5
        mode = rng.choice(4, size=len(labels), p=[0.55, 0.25, 0.15, 0.05])
        offsets = modes[labels, mode] / spread + rng.normal(size=(len(labels), DIM))
    vectors = centres[labels] + spread * offsets
    extra = max(8, len(labels) // 500)
    if noise == "novel-clusters":  # things the taxonomy lacks, a few of each: 6-example tight clusters
        kinds = np.repeat(rng.normal(size=(extra // 6, DIM)) * 4, 6, axis=0)
        planted = kinds + 0.5 * rng.normal(size=kinds.shape)
        given = rng.integers(0, CLASSES, len(planted))
    else:  # atypical examples of a class: 1 to 2.5 times its radius from its centre, so many sit near a fence
        given = rng.integers(0, CLASSES, extra)
        away = rng.normal(size=(extra, DIM))
        away /= np.linalg.norm(away, axis=1, keepdims=True)
        radius = spread[given * per_class, 0] * np.sqrt(DIM) * rng.uniform(1.0, 2.5, extra)
        planted = centres[given] + away * radius[:, None]
    if noise == "atypical+swapped":
        swapped = rng.choice(len(labels), size=len(labels) // 50, replace=False)
        labels = labels.copy()
        labels[swapped] = (labels[swapped] + rng.integers(1, CLASSES, len(swapped))) % CLASSES
    return np.vstack([vectors, planted]).astype(np.float32), np.concatenate([labels, given])


def outliers(vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], above: int, sample: int) -> Any:
    """`find_outliers` with graphs approximate above `above` rows and `FENCE_SAMPLE` = `sample`, and its
    seconds (the any-class graph included, as the check builds it beforehand)."""
    from taxospec.embeddings.index import NeighborIndex
    from taxospec.scores import outliers as module

    centres = np.stack([vectors[labels == c].mean(axis=0) for c in range(CLASSES)])
    suggested = np.argmin(((vectors[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    with approximate_above(above), patched(module, FENCE_SAMPLE=sample):
        began = time.perf_counter()
        index = NeighborIndex(vectors, device="cpu", metric="l2")
        sims, _ = index.knn(K)
        found = module.find_outliers(
            vectors, labels, sims, None, k=K, class_fence=3.0, any_fence=1.5,
            suggested=suggested, any_approximate=index.approximate, device="cpu",
        )  # fmt: skip
        return found, time.perf_counter() - began


def compare(exact: Any, found: Any) -> tuple[float, float]:
    """Jaccard of the flags, and the largest relative error of a fence (the classes' and the any-class)."""
    a, e = found.flagged, exact.flagged
    union = (a | e).sum()
    jaccard = float((a & e).sum() / union) if union else 1.0
    fences = np.abs(found.class_fence / exact.class_fence - 1).max()
    return jaccard, float(max(fences, abs(found.any_fence / exact.any_fence - 1)))


def main() -> None:
    """Run the suite and print one markdown row per sample size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--per-class", type=int, default=10_000)
    parser.add_argument("--approximate-above", type=int, default=1_000)
    parser.add_argument("--samples", type=int, nargs="+", default=[0, 256, 1024, 4096])
    args = parser.parse_args()
    rows: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    flagged: list[int] = []
    missed: list[float] = []
    for geometry in GEOMETRIES:
        for noise in NOISE:
            for seed in range(args.seeds):
                vectors, labels = dataset(geometry, noise, seed, args.per_class)
                exact, _ = outliers(vectors, labels, 10**12, 0)
                flagged.append(int(exact.flagged.sum()))
                for sample in args.samples:
                    found, seconds = outliers(vectors, labels, args.approximate_above, sample)
                    rows[sample].append((*compare(exact, found), seconds))
                missed.append(float(np.mean(found.class_distance > exact.class_distance * (1 + 1e-4))))
                print(f"  {geometry}, {noise}, seed {seed}: {flagged[-1]} flagged by exact search", flush=True)
    print(f"\n{len(flagged)} datasets ({len(GEOMETRIES)} geometries × {len(NOISE)} noise models × {args.seeds} seeds),")
    print(f"{CLASSES} classes of {args.per_class:,} + planted, {DIM} wide; exact search flags {np.mean(flagged):.0f}")
    print(f"± {np.std(flagged):.0f} a dataset; graphs approximate above {args.approximate_above:,}, where they miss")
    print(f"some of the nearest {K} own-class examples of {np.mean(missed):.1%} of the examples\n")
    print("| `FENCE_SAMPLE` | Jaccard with exact (mean ± sd) | lowest | largest fence error (mean ± sd) | seconds |")
    print("|---:|---:|---:|---:|---:|")
    for sample, results in rows.items():
        j, f, s = (np.array(column) for column in zip(*results, strict=True))
        print(f"| {sample:,} | {j.mean():.3f} ± {j.std():.3f} | {j.min():.3f} ", end="")
        print(f"| {f.mean():.2%} ± {f.std():.2%} | {s.mean():.1f} ± {s.std():.1f} |")


if __name__ == "__main__":
    main()
