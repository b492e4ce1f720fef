"""Where approximate search pays: exact `IndexFlatIP` against IVF-Flat, k-NN of every vector (k = 32).

For each size, clustered unit vectors (50 classes, D = 512); wall time of building and querying both
indexes, and the recall of the approximate neighbours against the exact ones.

    .venv/bin/python benchmarks/index_crossover.py [--sizes 10000,25000,50000,100000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(50, dim)).astype(np.float32)
    x = centers[rng.integers(0, 50, size=n)] + 0.9 * rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,25000,50000,100000")
    parser.add_argument("--dim", type=int, default=512)
    options = parser.parse_args()
    from taxospec.embeddings.index import NeighborIndex

    print(f"{'n':>8} {'exact s':>9} {'approx s':>9} {'speed-up':>9} {'recall@32':>10}")
    for n in (int(s) for s in options.sizes.split(",")):
        x = vectors(n, options.dim)
        began = time.perf_counter()
        exact = NeighborIndex(x, approximate_above=10**12).knn(32)[1]
        t_exact = time.perf_counter() - began
        began = time.perf_counter()
        approx = NeighborIndex(x, approximate_above=0).knn(32)[1]
        t_approx = time.perf_counter() - began
        recall = np.mean([len(set(a) & set(e)) / 32 for a, e in zip(approx[:2000], exact[:2000], strict=True)])
        print(f"{n:8d} {t_exact:9.2f} {t_approx:9.2f} {t_exact / t_approx:9.1f} {recall:10.3f}")


if __name__ == "__main__":
    main()
