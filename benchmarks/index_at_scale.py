"""The neighbour search at 1, 2 and 5 million vectors: which index keeps the k-NN graph right within this
machine's memory, at what cost — measured, then extrapolated to 10 and 100 million.

Synthetic clustered unit vectors (D = 512, 2,000 clusters of unequal size and spread, like class
embeddings of many scenes), with 0.5 % planted near-copies (a vector and a slightly moved twin). For each
size, each candidate index is built over every vector; a seeded sample of 10,000 queries is searched
(k = 10) and compared with exact search of the same queries over every vector (brute force in blocks):

- **IVF-Flat** (float32 lists; taxospec's index above 50,000 today), √n lists, 8 probed;
- **IVF-SQfp16** (the lists in float16: half the memory), same lists and probes;
- **IVF-PQ** (64 × 8-bit codes: 64 bytes a vector, 1/32 of float32), same lists, 16 probed;
- **IVF-SQ8** (each component in 8 bits over its trained range: 512 bytes a vector, half of float16), same
  lists, 8 probed.

Recorded: build time (training on a sample of 64 × lists, adding everything), the bytes the index holds,
the search time of the sample (the whole graph's is n / 10,000 times that: every vector is a query),
recall@10 of the neighbours, and how the planted near-copies fare: the share of them whose twin is the
nearest neighbour (what `near-duplicate` reads). Vectors are generated in float16, and the float32
copies only where an index needs them; peak resident memory is printed per size.

    .venv/bin/python benchmarks/index_at_scale.py --sizes 1000000            # ~6 min on 2 cores
    .venv/bin/python benchmarks/index_at_scale.py --sizes 1000000,2000000,5000000
    .venv/bin/python benchmarks/index_at_scale.py --sizes 1000000,2000000 --kinds IVF-SQfp16,IVF-SQ8
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

import numpy as np

D = 512
K = 10
QUERIES = 10_000
CLUSTERS = 2_000
TWINS = 0.005


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """`n` unit vectors in float16: clusters of unequal size and spread, and planted near-copies (the last
    `TWINS` share are twins of earlier vectors)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, D)).astype(np.float32)
    weights = rng.pareto(1.5, CLUSTERS) + 1
    spread = rng.uniform(0.6, 1.2, CLUSTERS).astype(np.float32)
    out = np.empty((n, D), dtype=np.float16)
    twins = int(n * TWINS)
    chunk = 200_000
    for start in range(0, n - twins, chunk):
        size = min(chunk, n - twins - start)
        which = rng.choice(CLUSTERS, size=size, p=weights / weights.sum())
        x = centres[which] + spread[which, None] * rng.normal(size=(size, D)).astype(np.float32)
        out[start : start + size] = x / np.linalg.norm(x, axis=1, keepdims=True)
    originals = rng.integers(0, n - twins, size=twins)
    moved = out[originals].astype(np.float32) + 0.02 * rng.normal(size=(twins, D)).astype(np.float32)
    out[n - twins :] = moved / np.linalg.norm(moved, axis=1, keepdims=True)
    return out


def exact(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The exact k nearest (inner product) of `queries` among `base`: flat search block by block (faiss
    keeps the top k of each), merged."""
    import faiss

    q = queries.astype(np.float32)
    best_sim = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_id = np.full((len(q), k), -1, dtype=np.int64)
    for start in range(0, len(base), 500_000):
        flat = faiss.IndexFlatIP(D)
        flat.add(base[start : start + 500_000].astype(np.float32))
        sims, ids = flat.search(q, k)
        merged_sim = np.hstack([best_sim, sims])
        merged_id = np.hstack([best_id, ids + start])
        order = np.argsort(-merged_sim, axis=1, kind="stable")[:, :k]
        best_sim = np.take_along_axis(merged_sim, order, axis=1)
        best_id = np.take_along_axis(merged_id, order, axis=1)
    return best_id


def build(kind: str, base: np.ndarray) -> tuple[Any, Any, float]:
    """Index `kind` over `base` (added in chunks from float16), its coarse quantizer (the IVF index does not
    own it: the caller keeps it alive), and its build seconds."""
    import faiss

    n = len(base)
    lists = max(16, int(np.sqrt(n)))
    quantizer = faiss.IndexFlatIP(D)
    metric = faiss.METRIC_INNER_PRODUCT
    if kind == "IVF-Flat":
        index = faiss.IndexIVFFlat(quantizer, D, lists, metric)
        index.nprobe = 8
    elif kind in ("IVF-SQfp16", "IVF-SQ8"):
        codes = faiss.ScalarQuantizer.QT_fp16 if kind == "IVF-SQfp16" else faiss.ScalarQuantizer.QT_8bit
        index = faiss.IndexIVFScalarQuantizer(quantizer, D, lists, codes, metric)
        index.nprobe = 8
    else:
        index = faiss.IndexIVFPQ(quantizer, D, lists, 64, 8, metric)
        index.nprobe = 16
    began = time.perf_counter()
    sample = np.random.default_rng(1).choice(n, size=min(n, lists * 64), replace=False)
    index.train(base[np.sort(sample)].astype(np.float32))
    for start in range(0, n, 200_000):
        index.add(base[start : start + 200_000].astype(np.float32))
    return index, quantizer, time.perf_counter() - began


def held_bytes(index: Any) -> int:
    """What the index holds: its inverted lists' codes and ids, and the coarse centroids."""
    import faiss

    lists = faiss.extract_index_ivf(index).invlists
    codes = sum(lists.list_size(i) for i in range(lists.nlist)) * (lists.code_size + 8)
    return int(codes + index.nlist * D * 4)


KINDS = ("IVF-Flat", "IVF-SQfp16", "IVF-PQ", "IVF-SQ8")


def measure(n: int, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """The rows of one size."""
    base = clustered(n)
    rng = np.random.default_rng(2)
    twins = int(n * TWINS)
    picks = np.concatenate([rng.choice(n - twins, QUERIES - 500, replace=False), np.arange(n - 500, n)])
    queries = base[picks]
    began = time.perf_counter()
    truth = exact(base, queries, K + 1)
    exact_seconds = time.perf_counter() - began
    rows = []
    twin_rows = np.arange(QUERIES - 500, QUERIES)
    for kind in kinds:
        index, quantizer, built = build(kind, base)
        began = time.perf_counter()
        _, found = index.search(queries.astype(np.float32), K + 1)
        searched = time.perf_counter() - began
        recall = np.mean([len(set(f[1:]) & set(t[1:])) / K for f, t in zip(found, truth, strict=True)])
        twin_first = np.mean([found[i][1] == truth[i][1] for i in twin_rows])
        graph = searched * n / QUERIES
        rows.append(
            f"| {n:,} | {kind} | {built:.0f} s | {held_bytes(index) / 2**30:.2f} GiB | {searched:.1f} s "
            f"| {graph / 60:.0f} min | {recall:.3f} | {twin_first:.3f} |"
        )
        print(rows[-1], flush=True)
        del index, quantizer
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"n = {n:,}: exact search of the sample {exact_seconds:.0f} s; peak resident memory so far {peak:.1f} GiB")
    return rows


def main() -> None:
    """Measure every size and print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,2000000,5000000")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"some of {', '.join(KINDS)}")
    args = parser.parse_args()
    kinds = tuple(args.kinds.split(","))
    if not set(kinds) <= set(KINDS):
        parser.error(f"--kinds: some of {', '.join(KINDS)}")
    print("| n | index | build | held | search 10,000 | whole graph (est.) | recall@10 | twin found first |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        measure(n, kinds)


if __name__ == "__main__":
    main()
