"""Confident learning (Northcutt, Jiang and Chuang, JAIR 2021): which given labels the out-of-fold
probabilities contradict, with the per-class noise estimated from the data itself, so that clean data
gets few or no flags.

For each class j the threshold t_j is the mean probability of j over the examples labeled j (how sure
the model is of j where it is right, mostly). An example is *confidently* of class j when its probability
of j reaches t_j (the largest such j when several do). The confident joint C[i, j] counts examples labeled
i that are confidently j; calibrated to the label counts it estimates how many labels of i are really j.

`find_label_issues` ranks all examples together by their normalized margin (p_given − max p_other) and
flags the estimated number of wrong labels (the off-diagonal sum of the calibrated joint) from the worst
up, where the probabilities favour another class. cleanlab's default, "prune by noise rate", takes the
same count per (given, true) pair instead; on the suite of benchmarks/detection_quality.py the single
ranking found more of the planted flips at the same precision (the per-pair counts are noisy where a
pair has few examples), which benchmarks/README.md records side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from taxospec.scores.chunked import row_chunks

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LabelIssues:
    """What confident learning concluded for every example."""

    flagged: npt.NDArray[np.bool_]
    """Whether the example's label is estimated to be wrong."""
    suggested: npt.NDArray[np.int64]
    """The class the probabilities favour (argmax), for flagged and unflagged examples alike."""
    quality: npt.NDArray[np.float64]
    """Label quality, 0..1, low is bad: the normalized margin p_given − max p_other, mapped to 0..1."""
    thresholds: npt.NDArray[np.float64]
    """t_j per class (NaN for a class without examples)."""
    noise: npt.NDArray[np.float64]
    """Estimated share of the labels of each class that are wrong."""


def per_class_thresholds(probabilities: FloatMatrix, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """t_j: the mean probability of class j over the examples labeled j (NaN without examples)."""
    classes = probabilities.shape[1]
    out = np.full(classes, np.nan)
    for j in range(classes):
        members = labels == j
        if members.any():
            out[j] = float(probabilities[members, j].mean())
    return out


def confident_joint(
    probabilities: FloatMatrix, labels: npt.NDArray[np.int64], thresholds: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The calibrated confident joint (given label × confident class, summing to the label counts per
    row) and each example's confident class (-1: confidently none)."""
    classes = probabilities.shape[1]
    limits = np.where(np.isnan(thresholds), np.inf, thresholds - 1e-12)[None, :]
    confident = np.empty(len(probabilities), dtype=np.int64)
    for piece in row_chunks(len(probabilities)):
        reached = probabilities[piece] >= limits
        masked = np.where(reached, probabilities[piece], -np.inf)
        confident[piece] = np.where(reached.any(axis=1), np.argmax(masked, axis=1), -1)
    joint = np.zeros((classes, classes), dtype=np.float64)
    counted = confident >= 0
    np.add.at(joint, (labels[counted], confident[counted]), 1)
    label_counts = np.bincount(labels, minlength=classes).astype(np.float64)
    row_sums = joint.sum(axis=1)
    scale = np.divide(label_counts, row_sums, out=np.zeros(classes), where=row_sums > 0)
    calibrated = np.rint(joint * scale[:, None]).astype(np.int64)
    for i in range(classes):  # rounding may leave a row off its count: the diagonal absorbs it
        calibrated[i, i] += int(label_counts[i]) - int(calibrated[i].sum())
    return calibrated, confident.astype(np.int64)


def normalized_margin(probabilities: FloatMatrix, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """(p_given − max p_other + 1) / 2 per example: 1 is a sure right label, 0 a sure wrong one."""
    out = np.empty(len(labels), dtype=np.float64)
    for piece in row_chunks(len(labels)):
        rows = np.arange(len(out[piece]))
        others = probabilities[piece].copy()
        given = others[rows, labels[piece]]
        others[rows, labels[piece]] = -np.inf
        out[piece] = (given - others.max(axis=1) + 1.0) / 2.0
    return out


def find_label_issues(probabilities: FloatMatrix, labels: npt.NDArray[np.int64], per_pair: bool = False) -> LabelIssues:
    """Confident learning's label issues: the estimated number of wrong labels, worst normalized margin
    first (`per_pair`: that number per (given, true) pair, largest p_true − p_given first, as cleanlab's
    "prune by noise rate"). An example is flagged only where the probabilities also favour another class
    than its label (as cleanlab does)."""
    n, classes = probabilities.shape
    thresholds = per_class_thresholds(probabilities, labels)
    joint, _ = confident_joint(probabilities, labels, thresholds)
    quality = normalized_margin(probabilities, labels)
    flagged = np.zeros(n, dtype=bool)
    if per_pair:
        for i in range(classes):
            members = np.flatnonzero(labels == i)
            for j in range(classes):
                count = int(joint[i, j]) if i != j else 0
                if count <= 0 or not len(members):
                    continue
                margin = probabilities[members, j] - probabilities[members, i]
                order = np.argsort(-margin, kind="stable")[: min(count, len(members))]
                flagged[members[order]] = True
    else:
        wrong_total = int(joint.sum() - np.trace(joint))
        flagged[np.argsort(quality, kind="stable")[: max(0, wrong_total)]] = True
    suggested = np.argmax(probabilities, axis=1).astype(np.int64)
    flagged &= suggested != labels
    label_counts = np.bincount(labels, minlength=classes).astype(np.float64)
    wrong = label_counts - np.diag(joint)
    noise = np.divide(wrong, label_counts, out=np.zeros(classes), where=label_counts > 0)
    return LabelIssues(flagged, suggested, quality, thresholds, noise)
