"""The detection-quality suite's data: real datasets that ship inside scikit-learn and generated ones, and
the noise models that plant defects at known rows (the truth each detector is scored against).

Every condition is a pure function of (dataset, seed): the same seed plants the same defects, so
taxospec and Cleanlab Datalab are scored on exactly the same features and labels in one run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Data:
    """Features and labels of a dataset, and each class's look-alike (the class it is most often confused
    with: its nearest class by the centroid distance of standardized features, or the designed twin)."""

    name: str
    features: Matrix
    labels: Labels
    lookalike: dict[int, int]

    @property
    def classes(self) -> int:
        return int(self.labels.max()) + 1


@dataclass
class Planted:
    """One condition's data after planting: features, given labels, splits, and the true rows per defect."""

    features: Matrix
    labels: Labels
    splits: npt.NDArray[np.int64]
    truth: dict[str, set[int]] = field(default_factory=dict)
    lookalike: dict[int, int] = field(default_factory=dict)
    true_labels: Labels | None = None
    """The labels before flipping (None: the given labels are the true ones)."""


def _nearest_class(features: Matrix, labels: Labels) -> dict[int, int]:
    z = (features - features.mean(0)) / np.where(features.std(0) > 0, features.std(0), 1)
    centroids = np.stack([z[labels == c].mean(0) for c in range(int(labels.max()) + 1)])
    distance = ((centroids[:, None] - centroids[None]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    return {c: int(np.argmin(distance[c])) for c in range(len(centroids))}


def _sklearn(name: str, loader: Callable[[], object]) -> Callable[[], Data]:
    def load() -> Data:
        bunch = loader()
        x = np.asarray(bunch.data, dtype=np.float64)  # type: ignore[attr-defined]
        y = np.asarray(bunch.target, dtype=np.int64)  # type: ignore[attr-defined]
        return Data(name, x, y, _nearest_class(x, y))

    return load


def generated_classes(seed: int = 7) -> Data:
    """7 classes in 20 dimensions (scikit-learn's make_classification: 2 clusters per class, informative
    and redundant features, no label noise of its own), the kind of generated set on which k-NN voting did worst."""
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=1400,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        n_classes=7,
        n_clusters_per_class=2,
        class_sep=2.0,
        flip_y=0.0,
        random_state=seed,
    )
    return Data("generated-7", x, y.astype(np.int64), _nearest_class(x, y.astype(np.int64)))


def embedding_like(seed: int = 11) -> Data:
    """CLIP-like unit vectors in 256 dimensions: 12 classes in 6 look-alike pairs (twins share most of
    their centre), all around a common direction (as CLIP's image embeddings are), 120 examples each."""
    rng = np.random.default_rng(seed)
    dim, pairs, per_class = 256, 6, 120
    common = rng.normal(size=dim)
    common *= 2.5 / np.linalg.norm(common)
    centres, lookalike = [], {}
    for p in range(pairs):
        base = rng.normal(size=dim)
        base /= np.linalg.norm(base)
        for twin in range(2):
            offset = rng.normal(size=dim)
            centres.append(base + 0.55 * offset / np.linalg.norm(offset))
            lookalike[2 * p + twin] = 2 * p + 1 - twin
    labels = np.repeat(np.arange(2 * pairs), per_class)
    spread = 0.9 / np.sqrt(dim)
    x = common + np.asarray(centres)[labels] + rng.normal(scale=spread * np.sqrt(dim) / 4, size=(len(labels), dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Data("embedding-like", x, labels.astype(np.int64), lookalike)


DATASETS: dict[str, Callable[[], Data]] = {}


def _register() -> None:
    from sklearn import datasets as sk

    DATASETS.update(
        {
            "iris": _sklearn("iris", sk.load_iris),
            "wine": _sklearn("wine", sk.load_wine),
            "breast-cancer": _sklearn("breast-cancer", sk.load_breast_cancer),
            "digits": _sklearn("digits", sk.load_digits),
            "generated-7": generated_classes,
            "embedding-like": embedding_like,
        }
    )


def datasets() -> dict[str, Callable[[], Data]]:
    """The suite's datasets by name (loaded on call; scikit-learn is imported on first use)."""
    if not DATASETS:
        _register()
    return DATASETS


def _splits(n: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    return (rng.random(n) < 0.2).astype(np.int64)  # 0 train, 1 val


def clean(data: Data, seed: int) -> Planted:
    """No defect at all: every flag is a false alarm."""
    rng = np.random.default_rng(seed)
    return Planted(data.features.copy(), data.labels.copy(), _splits(len(data.labels), rng), {}, data.lookalike)


def lookalike_flips(rate: float) -> Callable[[Data, int], Planted]:
    """`rate` of the labels flipped to the class's look-alike (the annotator error a spec's hard negatives
    name)."""

    def plant(data: Data, seed: int) -> Planted:
        rng = np.random.default_rng(seed)
        n = len(data.labels)
        labels = data.labels.copy()
        rows = rng.choice(n, size=max(1, round(rate * n)), replace=False)
        labels[rows] = [data.lookalike[int(c)] for c in labels[rows]]
        truth = {"label": set(rows.tolist())}
        return Planted(data.features.copy(), labels, _splits(n, rng), truth, data.lookalike, data.labels.copy())

    return plant


def uniform_flips(rate: float) -> Callable[[Data, int], Planted]:
    """`rate` of the labels flipped to any other class, uniformly."""

    def plant(data: Data, seed: int) -> Planted:
        rng = np.random.default_rng(seed)
        n, k = len(data.labels), data.classes
        labels = data.labels.copy()
        rows = rng.choice(n, size=max(1, round(rate * n)), replace=False)
        labels[rows] = (labels[rows] + rng.integers(1, k, size=len(rows))) % k
        truth = {"label": set(rows.tolist())}
        return Planted(data.features.copy(), labels, _splits(n, rng), truth, data.lookalike, data.labels.copy())

    return plant


def _outlier_count(n: int) -> int:
    return max(3, round(0.02 * n))


def noise_outliers(data: Data, seed: int) -> Planted:
    """2 % more rows of noise (each feature drawn uniformly over its range, then for unit-vector data
    normalized), with random labels: pictures of nothing."""
    rng = np.random.default_rng(seed)
    x, n = data.features, len(data.labels)
    m = _outlier_count(n)
    low, high = x.min(0), x.max(0)
    noise = rng.uniform(low, high, size=(m, x.shape[1]))
    if np.allclose(np.linalg.norm(x, axis=1), 1.0):
        noise = rng.normal(size=(m, x.shape[1]))
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    labels = np.concatenate([data.labels, rng.integers(0, data.classes, size=m)])
    return Planted(
        np.vstack([x, noise]), labels, _splits(n + m, rng), {"outlier": set(range(n, n + m))}, data.lookalike
    )


def ood_outliers(data: Data, seed: int) -> Planted:
    """2 % more rows from a class the taxonomy does not have: a class held out of the data (datasets
    with four or more classes), else a new cluster as far from the data's centre as its farthest class,
    shaped like a class; labeled with random known classes."""
    rng = np.random.default_rng(seed)
    x, y = data.features, data.labels
    m = _outlier_count(len(y))
    if data.classes >= 4:
        held = int(rng.integers(0, data.classes))
        keep = np.flatnonzero(y != held)
        pool = np.flatnonzero(y == held)
        chosen = rng.choice(pool, size=min(m, len(pool)), replace=False)
        remap = {c: i for i, c in enumerate(c for c in range(data.classes) if c != held)}
        base_x, base_y = x[keep], np.asarray([remap[int(c)] for c in y[keep]])
        lookalike = {remap[c]: remap[o] for c, o in data.lookalike.items() if c != held and o != held}
        for c in remap.values():  # a class whose look-alike was held out takes its nearest other
            lookalike.setdefault(c, _nearest_class(base_x, base_y)[c])
        extra = x[chosen]
        classes = data.classes - 1
    else:
        centre = x.mean(0)
        spread = x[y == 0] - x[y == 0].mean(0)
        far = max(np.linalg.norm(x[y == c].mean(0) - centre) for c in range(data.classes))
        direction = rng.normal(size=x.shape[1])
        direction /= np.linalg.norm(direction)
        extra = centre + 2 * far * direction + spread[rng.choice(len(spread), size=m)]
        base_x, base_y, lookalike, classes = x, y, data.lookalike, data.classes
    if np.allclose(np.linalg.norm(x, axis=1), 1.0):
        extra = extra / np.linalg.norm(extra, axis=1, keepdims=True)
    n = len(base_y)
    labels = np.concatenate([base_y, rng.integers(0, classes, size=len(extra))]).astype(np.int64)
    return Planted(
        np.vstack([base_x, extra]),
        labels,
        _splits(n + len(extra), rng),
        {"outlier": set(range(n, n + len(extra)))},
        lookalike,
    )


def near_copies(noise: float, across_splits: bool = False) -> Callable[[Data, int], Planted]:
    """3 % more rows that are copies of random rows with Gaussian noise of `noise` × each feature's
    standard deviation (0: exact copies); across splits, each copy goes to the other split than its original
    (truth `split`), else to the same one (truth `duplicate`)."""

    def plant(data: Data, seed: int) -> Planted:
        rng = np.random.default_rng(seed)
        x, n = data.features, len(data.labels)
        m = max(3, round(0.03 * n))
        originals = rng.choice(n, size=m, replace=False)
        copies = x[originals] + rng.normal(size=(m, x.shape[1])) * (noise * x.std(0))
        if np.allclose(np.linalg.norm(x, axis=1), 1.0):
            copies /= np.linalg.norm(copies, axis=1, keepdims=True)
        splits = _splits(n, rng)
        copy_splits = 1 - splits[originals] if across_splits else splits[originals]
        kind = "split" if across_splits else "duplicate"
        truth = {kind: set(originals.tolist()) | set(range(n, n + m))}
        return Planted(
            np.vstack([x, copies]),
            np.concatenate([data.labels, data.labels[originals]]),
            np.concatenate([splits, copy_splits]),
            truth,
            data.lookalike,
        )

    return plant


CONDITIONS: dict[str, Callable[[Data, int], Planted]] = {
    "clean": clean,
    "look-alike flips 3%": lookalike_flips(0.03),
    "look-alike flips 10%": lookalike_flips(0.10),
    "look-alike flips 20%": lookalike_flips(0.20),
    "uniform flips 10%": uniform_flips(0.10),
    "noise outliers 2%": noise_outliers,
    "OOD outliers 2%": ood_outliers,
    "exact copies 3%": near_copies(0.0),
    "near-copies 1% noise": near_copies(0.01),
    "near-copies 5% noise": near_copies(0.05),
    "copies across splits": near_copies(0.01, across_splits=True),
}
"""Each noise model by name: a function of (dataset, seed) to the planted data and its truth."""
