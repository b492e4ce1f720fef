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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from taxospec.scores.chunked import moments, row_chunks

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


Rows = slice | npt.NDArray[np.int64]
"""A chunk of rows (`scores.chunked.row_chunks`)."""


@dataclass(frozen=True)
class _Design:
    """How a chunk of rows becomes the probe's input: standardized features and a constant column."""

    features: npt.NDArray[np.floating]
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    def rows(self, piece: Rows) -> npt.NDArray[np.float32]:
        z = (self.features[piece] - self.mean) / self.scale
        return np.hstack([z, np.ones((len(z), 1))]).astype(np.float32)


def _onehot(labels: npt.NDArray[np.int64], classes: int) -> npt.NDArray[np.float32]:
    out = np.zeros((len(labels), classes), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def ridge_probe(
    features: npt.NDArray[np.floating],
    labels: npt.NDArray[np.int64],
    classes: int,
    train: npt.NDArray[np.bool_] | None = None,
    penalties: tuple[float, ...] = PENALTIES,
) -> tuple[FloatMatrix, float]:
    """Out-of-sample class probabilities for every row (rows × classes) and the penalty chosen (among
    `penalties`): the probe is fitted on the `train` rows (default all); a training row's probabilities
    are its leave-one-out ones, another row's those of the fitted probe. The rows are read in chunks
    (`scores.chunked`): the normal equations accumulate chunk by chunk, so memory beyond the input is
    the d × d algebra and the rows × classes scores, whatever the number of rows."""
    x = np.asarray(features)
    n = len(x)
    train = np.ones(n, dtype=bool) if train is None else np.asarray(train, dtype=bool)
    fit_rows = np.flatnonzero(train)
    if len(fit_rows) < 2 or len(np.unique(labels[fit_rows])) < 2:
        out = np.full((n, classes), 1.0 / max(1, classes))
        return out, float("nan")
    mean, scale = moments(x, fit_rows)
    design = _Design(x, mean, np.where(scale > 1e-12, scale, 1.0))
    pieces = row_chunks(fit_rows)
    # the n-by-d products in float32 (half the time at 100,000 rows), the d-by-d algebra in float64
    gram = np.zeros((x.shape[1] + 1, x.shape[1] + 1))
    moment = np.zeros((x.shape[1] + 1, classes))
    for piece in pieces:
        z = design.rows(piece)
        gram += z.T @ z
        moment += z.T @ _onehot(labels[piece], classes)
    eigenvalues, vectors = np.linalg.eigh(gram)
    fit = _Fit(design, vectors, vectors.T @ moment, np.maximum(eigenvalues, 0.0), len(fit_rows))
    errors = np.sum([fit.errors(piece, labels[piece], penalties) for piece in pieces], axis=0)
    penalty = penalties[int(np.argmin(errors))]
    scores = np.empty((n, classes))
    for piece in pieces:
        scores[piece] = fit.left_out(piece, labels[piece], penalty)
    sample: npt.NDArray[np.int64] = fit_rows
    if len(sample) > CALIBRATION_SAMPLE:
        sample = fit_rows[np.random.default_rng(0).choice(len(fit_rows), CALIBRATION_SAMPLE, replace=False)]
    calibrate, given = scores[sample], labels[sample]
    temperature = min(TEMPERATURES, key=lambda t: _log_loss(_softmax(calibrate, float(t)), given))
    weights = fit.weights(penalty)
    for piece in row_chunks(np.flatnonzero(~train)):
        scores[piece] = design.rows(piece).astype(np.float64) @ weights
    for piece in row_chunks(n):  # (in place, a chunk at a time: no whole-size intermediates)
        scores[piece] = _softmax(scores[piece], float(temperature))
    return scores, penalty


@dataclass(frozen=True)
class _Fit:
    """The eigendecomposition of ZᵀZ and the projected targets, from which each penalty's fit follows."""

    design: _Design
    vectors: FloatMatrix
    targets: FloatMatrix
    eigenvalues: npt.NDArray[np.float64]
    trained: int

    def _inverse(self, penalty: float) -> npt.NDArray[np.float64]:
        return np.asarray(1.0 / (self.eigenvalues + penalty * self.trained))

    def left_out(self, piece: Rows, labels: npt.NDArray[np.int64], penalty: float) -> FloatMatrix:
        """The leave-one-out scores of the training rows `piece` (with their `labels`) under `penalty`."""
        return self._left_out(self._projected(piece), _onehot(labels, self.targets.shape[1]), penalty)

    def errors(self, piece: Rows, labels: npt.NDArray[np.int64], penalties: tuple[float, ...]) -> list[float]:
        """The leave-one-out squared error of the training rows `piece` under each of `penalties` (the rows
        projected once)."""
        projected, onehot = self._projected(piece), _onehot(labels, self.targets.shape[1])
        return [float(((self._left_out(projected, onehot, p) - onehot) ** 2).sum()) for p in penalties]

    def _projected(self, piece: Rows) -> npt.NDArray[np.float32]:
        return np.asarray(self.design.rows(piece) @ self.vectors.astype(np.float32))

    def _left_out(
        self, projected: npt.NDArray[np.float32], onehot: npt.NDArray[np.float32], penalty: float
    ) -> FloatMatrix:
        inverse = self._inverse(penalty)
        fitted = projected @ (inverse[:, None] * self.targets).astype(np.float32)
        leverage = np.minimum((projected**2) @ inverse.astype(np.float32), np.float32(1.0 - 1e-6))
        return np.asarray(((fitted - leverage[:, None] * onehot) / (1.0 - leverage)[:, None]).astype(np.float64))

    def weights(self, penalty: float) -> FloatMatrix:
        """The fitted map from a design row to class scores."""
        return np.asarray(self.vectors @ (self._inverse(penalty)[:, None] * self.targets))
