"""Out-of-sample class probabilities from a linear probe: the light baseline model of the established
cleaning practice, trained on the embeddings and run over every example it was not trained on.

The probe is a ridge-regression classifier (one least-squares map from the standardized features to the
one-hot labels) whose *leave-one-out* predictions have a closed form: with the hat matrix
H = Z (ZᵀZ + λI)⁻¹ Zᵀ, the prediction for example i by the model fitted without it is
(ŝᵢ − hᵢᵢ yᵢ) / (1 − hᵢᵢ). So every example's out-of-sample scores cost one fit, not one per fold, and
the penalty λ is chosen among `PENALTIES` by the leave-one-out squared error from a single
eigendecomposition of ZᵀZ. The scores become probabilities by a softmax whose temperature is fitted to
the leave-one-out scores (lowest log-loss of the given labels).

On the suite of benchmarks/detection_quality.py this found label issues as well as cross-validated
multinomial logistic regression (5 folds, L-BFGS) and took a twentieth of the time (benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float64]

PENALTIES = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
"""Ridge penalties per example (λ = penalty × training examples) the probe is chosen from."""
TEMPERATURES = np.geomspace(0.25, 64.0, 33)
"""Softmax temperatures the scores are calibrated over."""
CALIBRATION_SAMPLE = 5_000
"""Training rows the temperature is fitted on (a seeded sample beyond this)."""


def _softmax(scores: FloatMatrix, temperature: float) -> FloatMatrix:
    logits = scores * temperature
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def _log_loss(probabilities: FloatMatrix, labels: npt.NDArray[np.int64]) -> float:
    given = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(given, 1e-12, 1.0)).mean())


def ridge_probe(
    features: FloatMatrix,
    labels: npt.NDArray[np.int64],
    classes: int,
    train: npt.NDArray[np.bool_] | None = None,
    penalties: tuple[float, ...] = PENALTIES,
) -> tuple[FloatMatrix, float]:
    """Out-of-sample class probabilities for every row (rows × classes) and the penalty chosen (among
    `penalties`): the probe is fitted on the `train` rows (default all); a training row's probabilities
    are its leave-one-out ones, another row's those of the fitted probe."""
    x = np.asarray(features, dtype=np.float64)
    n = len(x)
    train = np.ones(n, dtype=bool) if train is None else np.asarray(train, dtype=bool)
    fit_rows = np.flatnonzero(train)
    if len(fit_rows) < 2 or len(np.unique(labels[fit_rows])) < 2:
        out = np.full((n, classes), 1.0 / max(1, classes))
        return out, float("nan")
    mean = x[fit_rows].mean(axis=0)
    scale = x[fit_rows].std(axis=0)
    # the n-by-d products in float32 (half the time at 100,000 rows), the d-by-d algebra in float64
    z = np.hstack([(x - mean) / np.where(scale > 1e-12, scale, 1.0), np.ones((n, 1))]).astype(np.float32)
    onehot = np.zeros((n, classes), dtype=np.float32)
    onehot[np.arange(n), labels] = 1.0
    zt, yt = z[fit_rows], onehot[fit_rows]
    eigenvalues, vectors = np.linalg.eigh((zt.T @ zt).astype(np.float64))
    projected = zt @ vectors.astype(np.float32)
    squared = projected**2
    targets = vectors.T @ (zt.T @ yt).astype(np.float64)
    best: tuple[float, float, FloatMatrix, npt.NDArray[np.float64]] | None = None
    for penalty in penalties:
        inverse = 1.0 / (np.maximum(eigenvalues, 0.0) + penalty * len(fit_rows))
        fitted = projected @ (inverse[:, None] * targets).astype(np.float32)
        leverage = np.minimum(squared @ inverse.astype(np.float32), np.float32(1.0 - 1e-6))
        left_out = ((fitted - leverage[:, None] * yt) / (1.0 - leverage)[:, None]).astype(np.float64)
        error = float(((left_out - yt) ** 2).sum())
        if best is None or error < best[0]:
            best = (error, penalty, left_out, inverse)
    assert best is not None
    _, penalty, left_out, inverse = best
    sample: npt.NDArray[np.int64] = np.arange(len(fit_rows))
    if len(sample) > CALIBRATION_SAMPLE:
        sample = np.random.default_rng(0).choice(len(sample), CALIBRATION_SAMPLE, replace=False)
    calibrate, given = left_out[sample], labels[fit_rows][sample]
    temperature = min(TEMPERATURES, key=lambda t: _log_loss(_softmax(calibrate, float(t)), given))
    scores = np.empty((n, classes))
    scores[fit_rows] = left_out
    rest = np.flatnonzero(~train)
    if len(rest):
        weights = vectors @ (inverse[:, None] * targets)
        scores[rest] = z[rest].astype(np.float64) @ weights
    return _softmax(scores, float(temperature)), penalty
