"""Outliers over an approximate neighbour search: an approximate search never finds nearer neighbours than
the exact one, so what decides a flag (the fences, and the distances of the examples beyond them) is
searched again exactly and the flags are exact search's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from taxospec.embeddings.index import NeighborIndex
from taxospec.scores import outliers
from taxospec.scores.outliers import OutlierScores, find_outliers


def _classes_and_far_examples(seed: int, per_class: int = 3000, dim: int = 32) -> tuple[Any, Any]:
    """Three Gaussian classes of different spread, and 12 examples at radius 9 given random labels:
    in 32 dimensions an inverted file probing 8 of its lists misses neighbours for most examples. And a
    class of three (under `MIN_CLASS`: it takes the fence of all classes), one of them far from the others."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim)) * 4
    spreads = np.repeat([0.6, 1.0, 1.4], per_class)[:, None]
    labels = np.repeat(np.arange(3), per_class)
    far = rng.normal(size=(12, dim))
    far *= 9 / np.linalg.norm(far, axis=1, keepdims=True)
    small = rng.normal(size=dim) * 4 + np.array([[0.0], [0.0], [1.0]]) * rng.normal(size=(3, dim)) * 3
    vectors = np.vstack([centres[labels] + spreads * rng.normal(size=(len(labels), dim)), far, small])
    return vectors.astype(np.float32), np.concatenate([labels, rng.integers(0, 3, 12), [3, 3, 3]])


def _outliers(vectors: Any, labels: Any, approximate_above: int, monkeypatch: pytest.MonkeyPatch) -> OutlierScores:
    with monkeypatch.context() as patch:
        patch.setitem(NeighborIndex.__init__.__kwdefaults__, "approximate_above", approximate_above)
        index = NeighborIndex(vectors, device="cpu", metric="l2")
        sims, _ = index.knn(10)
        return find_outliers(
            vectors,
            labels,
            sims,
            None,
            k=10,
            class_fence=3.0,
            any_fence=1.5,
            suggested=np.full(len(labels), -1),
            any_approximate=index.approximate,
            device="cpu",
        )


@pytest.mark.parametrize("seed", range(5))
def test_over_an_approximate_search_the_flags_are_exact_searchs(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors, labels = _classes_and_far_examples(seed)
    monkeypatch.setattr(outliers, "FENCE_SAMPLE", len(labels))  # the fences from every example's exact distance
    exact = _outliers(vectors, labels, 10**9, monkeypatch)
    approximate = _outliers(vectors, labels, 100, monkeypatch)
    missed = approximate.any_distance > exact.any_distance + 1e-4
    assert missed.mean() > 0.5, "the approximate search should miss neighbours of most examples"
    assert exact.flagged.sum() >= 2
    assert np.array_equal(approximate.flagged, exact.flagged)
    flagged = exact.flagged
    np.testing.assert_allclose(approximate.class_distance[flagged], exact.class_distance[flagged], rtol=1e-5)
    np.testing.assert_allclose(approximate.any_distance[flagged], exact.any_distance[flagged], rtol=1e-5)
    np.testing.assert_allclose(approximate.class_fence, exact.class_fence, rtol=1e-5)


def test_without_the_fence_sample_the_fences_are_the_approximate_distances(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors, labels = _classes_and_far_examples(0, per_class=600)
    monkeypatch.setattr(outliers, "FENCE_SAMPLE", 0)
    scores = _outliers(vectors, labels, 100, monkeypatch)
    with monkeypatch.context() as patch:
        patch.setitem(NeighborIndex.__init__.__kwdefaults__, "approximate_above", 100)
        sims, _ = NeighborIndex(vectors, device="cpu", metric="l2").knn(10)
    assert scores.any_fence == outliers.tukey_fence(outliers.mean_distance(sims), 1.5) < np.inf


@pytest.mark.parametrize("seed", range(5))
def test_the_corrected_fence_is_nearer_the_exact_fence_than_the_samples_own(seed: int) -> None:
    rng = np.random.default_rng(seed)
    exact = rng.gamma(4.0, 1.0, size=50_000)
    approximate = exact * (1.06 + 0.02 * rng.random(len(exact)))  # a search that misses: never below exact
    target = outliers.tukey_fence(exact, 3.0)
    corrected_errors, sample_errors = [], []
    for _ in range(20):
        sample = rng.choice(len(exact), size=1024, replace=False)
        corrected = outliers.corrected_fence(approximate, approximate[sample], exact[sample], 3.0)
        corrected_errors.append(abs(corrected - target))
        sample_errors.append(abs(outliers.tukey_fence(exact[sample], 3.0) - target))
    assert np.mean(corrected_errors) < np.mean(sample_errors) / 3
    assert np.mean(corrected_errors) < abs(outliers.tukey_fence(approximate, 3.0) - target) / 3
    every = np.arange(len(exact))
    assert outliers.corrected_fence(approximate, approximate[every], exact[every], 3.0) == pytest.approx(target)


@pytest.mark.parametrize("seed", range(5))
def test_correcting_the_quartiles_moves_every_fence_by_the_samples_difference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    approximate, approximate_sample, exact_sample = (rng.gamma(4.0, scale, size=2000) for scale in (1.1, 1.2, 1.0))
    quartiles = outliers.Quartiles.of(approximate).corrected(
        outliers.Quartiles.of(approximate_sample), outliers.Quartiles.of(exact_sample)
    )
    for factor in (1.5, 3.0):
        moved = outliers.tukey_fence(exact_sample, factor) - outliers.tukey_fence(approximate_sample, factor)
        assert quartiles.fence(factor) == pytest.approx(outliers.tukey_fence(approximate, factor) + moved)


def test_distances_with_no_finite_value_have_an_infinite_fence_and_no_corrected_one() -> None:
    nothing = np.array([np.nan, np.inf])
    assert outliers.tukey_fence(nothing, 3.0) == np.inf
    assert np.isnan(outliers.corrected_fence(nothing, nothing, nothing, 3.0))
