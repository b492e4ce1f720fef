"""Out-of-fold class probabilities from a linear probe: the light baseline model of the established
cleaning practice, trained on the embeddings and run over every example it was not trained on.

The probe is multinomial logistic regression (softmax over a linear map, L2-penalized), fitted by
L-BFGS in numpy (float64); the features are standardized on each training fold. Numpy, not torch: a
re-run of `taxospec check` whose vectors are all cached must not pay for importing torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float64]

MAX_ITERATIONS = 200
"""L-BFGS iterations per fold at most (the loss is convex; on standardized features it stops well before)."""
MEMORY = 10
"""Correction pairs L-BFGS keeps."""
TOLERANCE = 1e-5
"""Largest gradient component at which the fit has converged."""


def fold_of(labels: npt.NDArray[np.int64], folds: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """A stratified fold number for each example: each class dealt round-robin over the folds in a
    seeded random order, so every fold sees every class that has at least `folds` examples."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        out[rng.permutation(members)] = np.arange(len(members)) % folds
    return out


def _loss_and_gradient(
    theta: FloatMatrix, x: FloatMatrix, onehot: FloatMatrix, penalty: float
) -> tuple[float, FloatMatrix]:
    """Mean cross-entropy plus the L2 penalty on the weights (not the bias), and its gradient; `theta`
    stacks the weights (features × classes) over the bias row."""
    weights, bias = theta[:-1], theta[-1]
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    total = exp.sum(axis=1, keepdims=True)
    n = len(x)
    loss = float(np.mean(np.log(total[:, 0]) - (logits * onehot).sum(axis=1))) + 0.5 * penalty * float(
        (weights**2).sum()
    )
    residual = (exp / total - onehot) / n
    gradient = np.empty_like(theta)
    gradient[:-1] = x.T @ residual + penalty * weights
    gradient[-1] = residual.sum(axis=0)
    return loss, gradient


def _lbfgs(
    theta: FloatMatrix, objective: Callable[[FloatMatrix], tuple[float, FloatMatrix]], iterations: int
) -> FloatMatrix:
    """Minimize a smooth convex `objective` from `theta` by L-BFGS (memory `MEMORY`, Armijo backtracking)."""
    loss, gradient = objective(theta)
    steps: list[tuple[FloatMatrix, FloatMatrix, float]] = []
    for _ in range(iterations):
        if float(np.abs(gradient).max()) < TOLERANCE:
            break
        direction = -gradient
        alphas = []
        for s, y, rho in reversed(steps):  # the two-loop recursion
            alpha = rho * float((s * direction).sum())
            direction = direction - alpha * y
            alphas.append(alpha)
        if steps:
            s, y, _ = steps[-1]
            direction = direction * (float((s * y).sum()) / float((y * y).sum()))
        for (s, y, rho), alpha in zip(steps, reversed(alphas), strict=True):
            beta = rho * float((y * direction).sum())
            direction = direction + (alpha - beta) * s
        slope = float((gradient * direction).sum())
        if slope >= 0:  # not a descent direction: restart from the gradient
            steps.clear()
            direction, slope = -gradient, -float((gradient * gradient).sum())
        step = 1.0
        for _ in range(30):
            candidate = theta + step * direction
            new_loss, new_gradient = objective(candidate)
            if new_loss <= loss + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_k, y_k = candidate - theta, new_gradient - gradient
        curvature = float((s_k * y_k).sum())
        if curvature > 1e-12:
            steps.append((s_k, y_k, 1.0 / curvature))
            del steps[:-MEMORY]
        theta, loss, gradient = candidate, new_loss, new_gradient
    return theta


def fit_predict(
    train_x: FloatMatrix,
    train_y: npt.NDArray[np.int64],
    test_x: FloatMatrix,
    classes: int,
    penalty: float,
) -> FloatMatrix:
    """Class probabilities of `test_x` from a softmax regression fitted on (`train_x`, `train_y`).

    `penalty` is the L2 weight on the mean cross-entropy (scikit-learn's `C` is 1 / (penalty × n))."""
    mean = train_x.mean(axis=0)
    scale = train_x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    xs = (train_x - mean) / scale
    onehot = np.zeros((len(train_y), classes))
    onehot[np.arange(len(train_y)), train_y] = 1.0
    theta = np.zeros((xs.shape[1] + 1, classes))
    theta = _lbfgs(theta, lambda t: _loss_and_gradient(t, xs, onehot, penalty), MAX_ITERATIONS)
    logits = ((test_x - mean) / scale) @ theta[:-1] + theta[-1]
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)


def out_of_fold(
    features: FloatMatrix,
    labels: npt.NDArray[np.int64],
    classes: int,
    *,
    folds: int = 5,
    penalty: float | None = None,
    seed: int = 0,
) -> FloatMatrix:
    """Each example's class probabilities from a probe trained on the other folds (rows: examples,
    columns: classes). `penalty` defaults to 1 / n, scikit-learn's `C=1`.

    A class with fewer examples than `folds` still gets probabilities (its examples are in some training
    folds only); with a single class every example gets probability 1 for it."""
    n = len(labels)
    out = np.zeros((n, classes), dtype=np.float64)
    if classes < 2 or n < 2:
        out[:, labels[0] if n else 0] = 1.0
        return out
    folds = max(2, min(folds, n))
    fold = fold_of(labels, folds, seed)
    x = np.asarray(features, dtype=np.float64)
    for f in range(folds):
        test = fold == f
        train = ~test
        if not test.any():
            continue
        weight = penalty if penalty is not None else 1.0 / max(1, int(train.sum()))
        out[test] = fit_predict(x[train], labels[train], x[test], classes, weight)
    return out
