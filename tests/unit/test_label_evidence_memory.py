"""The label evidence holds its class probabilities (`examples × classes` float64) a few times at most: at
many classes they set how many examples one machine checks (`benchmarks/label_evidence_memory.py`)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from taxospec.scores import chunked
from taxospec.scores.label_issues import label_evidence


@pytest.mark.parametrize("with_predictions", [False, True], ids=["embeddings", "with-team-predictions"])
@pytest.mark.parametrize("seed", range(3))
def test_the_label_evidence_peaks_at_a_few_copies_of_its_probabilities(
    seed: int, with_predictions: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "CHUNK", 1024)  # (the chunked work's own memory made small beside the rest)
    rng = np.random.default_rng(seed)
    size, classes = 20_000, 100
    labels = rng.integers(0, classes, size)
    noisy = np.where(rng.random(size) < 0.05, rng.integers(0, classes, size), labels)
    features = ((rng.normal(size=(classes, 16)) * 3)[labels] + rng.normal(size=(size, 16))).astype(np.float32)
    ids = rng.integers(0, size, size=(size, 16)).astype(np.int32)
    predictions = None
    if with_predictions:  # (the team's model said something of 70 % of the examples)
        predictions = rng.dirichlet(np.ones(classes), size)
        predictions[rng.random(size) < 0.3] = np.nan
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        evidence = label_evidence(features, noisy, classes, ids, predictions=predictions)
        peak = tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()
    assert evidence.issues.flagged.any(), "the first round should flag labels, so that a second runs"
    # (7 to 9 copies before they were made a chunk at a time; with predictions, 2 more before those were
    # multiplied in, in place, a chunk at a time)
    assert peak < 4 * size * classes * 8
