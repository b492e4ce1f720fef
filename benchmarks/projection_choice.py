"""Which 2-D projection the HTML explorer's embedding map uses: PCA, t-SNE (openTSNE, and scikit-learn's
Barnes-Hut where it finishes) or UMAP, measured on the same data in one run.

Datasets: the synthetic-signals demo's CLIP embeddings (the committed small model), scikit-learn's digits,
and generated clustered vectors (20 classes in 64 dimensions, five pairs of look-alike classes placed
close together, as hard negatives are) at 2,000, 10,000 and 100,000 points. Per method, seed and dataset:

- **neighbours kept**: the share of each point's 10 nearest neighbours (cosine, high-D) that are among its
  10 nearest on the map (what "show the neighbours of this example" and a lasso rely on);
- **class kNN**: the accuracy of a 10-nearest-neighbour vote on the map, against the same vote in high-D
  (whether classes that are apart stay apart, and look-alikes stay near but distinguishable);
- **stable**: the largest coordinate change between two runs with the same seed (0: reproducible);
- **seconds** on this machine (2 cores).

    .venv/bin/python benchmarks/projection_choice.py [--sizes 2000,10000,100000] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Method = Callable[[np.ndarray, int], np.ndarray]


def pca(x: np.ndarray, seed: int) -> np.ndarray:
    centered = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centered[:: max(1, len(x) // 20000)], full_matrices=False)
    return centered @ vt[:2].T


def open_tsne(x: np.ndarray, seed: int) -> np.ndarray:
    from openTSNE import TSNE

    return np.asarray(TSNE(n_components=2, metric="cosine", random_state=seed, n_jobs=2).fit(x))


def sklearn_tsne(x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, metric="cosine", random_state=seed, init="pca").fit_transform(x)


def umap(x: np.ndarray, seed: int) -> np.ndarray:
    import umap as umap_learn

    return umap_learn.UMAP(n_components=2, metric="cosine", random_state=seed).fit_transform(x)


def taxospec_map(x: np.ndarray, seed: int) -> np.ndarray:
    """What the explorer draws: openTSNE single-threaded, fitted on at most 20,000 and the rest placed."""
    from taxospec.scores.projection import project

    return project(x / np.linalg.norm(x, axis=1, keepdims=True), seed)[0]


METHODS: dict[str, Method] = {
    "PCA": pca,
    "t-SNE (openTSNE)": open_tsne,
    "t-SNE (sklearn)": sklearn_tsne,
    "UMAP": umap,
    "taxospec map": taxospec_map,
}


def knn(x: np.ndarray, k: int, cosine: bool) -> np.ndarray:
    import faiss

    data = np.array(x, dtype=np.float32, copy=True)  # normalised below: never the caller's array
    if cosine:
        data /= np.linalg.norm(data, axis=1, keepdims=True) + 1e-12
        index = faiss.IndexFlatIP(data.shape[1])
    else:
        index = faiss.IndexFlatL2(data.shape[1])
    index.add(data)
    _, ids = index.search(data, k + 1)
    return np.asarray(ids[:, 1:])


def scores(high: np.ndarray, low: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    nh, nl = knn(high, 10, True), knn(low, 10, False)
    kept = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(nh, nl, strict=True)]))

    def vote(ids: np.ndarray) -> float:
        guesses = np.array([np.bincount(labels[row]).argmax() for row in ids])
        return float(np.mean(guesses == labels))

    return kept, vote(nl), vote(nh)


def clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, 64))
    for a in range(0, 10, 2):  # five look-alike pairs: the second class just beside the first
        centres[a + 1] = centres[a] + 0.35 * rng.normal(size=64)
    labels = rng.integers(0, 20, size=n)
    return centres[labels] + 0.45 * rng.normal(size=(n, 64)), labels


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data.astype(np.float32), data.target


def demo() -> tuple[np.ndarray, np.ndarray]:
    """The synthetic-signals demo's embeddings, as `taxospec check` computes them (offline, its own CLIP)."""
    import os
    import tempfile
    from pathlib import Path

    from taxospec import load_spec, read_export
    from taxospec.api import build_embeddings
    from taxospec.media.sources import MediaSources

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    folder = Path(__file__).resolve().parent.parent / "examples" / "synthetic-signals"
    spec = load_spec(folder / "spec.yaml")
    dataset = read_export(spec, folder / "export.json")
    with tempfile.TemporaryDirectory() as cache:
        space = build_embeddings(
            dataset, media=MediaSources(roots={"ls-document-root": folder}), cache_dir=Path(cache), device="cpu"
        )
    assert space is not None
    labels = np.asarray(dataset.columns.class_idx)[space.samples]
    keep = labels >= 0
    return np.asarray(space.vectors)[keep], labels[keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,10000,100000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sklearn-limit", type=int, default=10000, help="largest size scikit-learn's t-SNE runs on")
    parser.add_argument("--methods", default=",".join(METHODS), help="which methods, comma-separated")
    options = parser.parse_args()
    seeds = [int(s) for s in options.seeds.split(",")]
    datasets: list[tuple[str, Any]] = [("demo CLIP", demo), ("digits", digits)]
    datasets += [(f"clustered {int(n):,}", lambda n=int(n): clustered(n)) for n in options.sizes.split(",")]
    head = f"{'dataset':<18} {'method':<18} {'neighbours kept':>16} {'class kNN (high-D)':>19}"
    print(f"{head} {'stable':>8} {'seconds':>8}")
    for name, load in datasets:
        x, labels = load()
        for method, project in METHODS.items():
            if method not in options.methods.split(","):
                continue
            if method == "t-SNE (sklearn)" and len(x) > options.sklearn_limit:
                continue
            kept, vote, times, drift = [], [], [], 0.0
            high_vote = 0.0
            for seed in seeds:
                began = time.perf_counter()
                low = project(x, seed)
                times.append(time.perf_counter() - began)
                k, v, high_vote = scores(x, low, labels)
                kept.append(k)
                vote.append(v)
                if seed == seeds[0]:
                    again = project(x, seed)
                    drift = float(np.max(np.abs(again - low)) / (np.ptp(low) + 1e-12))
            print(
                f"{name:<18} {method:<18} {np.mean(kept):>9.3f} ± {np.std(kept):.3f} "
                f"{np.mean(vote):>9.3f} ({high_vote:.3f}) {drift:>8.1e} {np.mean(times):>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
