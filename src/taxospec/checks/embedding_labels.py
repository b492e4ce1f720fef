"""The example-score checks of labels: `likely-mislabel` (another class explains the example) and
`outlier` (no class does), each flagged where it belongs from the shared example scores
(`embedding_scores`), each keeping its score apart from its flag."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import CheckContext, Outcome, SkipCheck, check
from taxospec.checks.embedding_frames import background_boxes
from taxospec.checks.embedding_scores import label_scores, outlier_scores
from taxospec.checks.embedding_view import embeddings_off, scored, view_of
from taxospec.checks.params import params_of
from taxospec.findings import Severity
from taxospec.spec.model import LabelIssueParams, OutlierParams, Spec


def label_params_of(spec: Spec) -> LabelIssueParams:
    """The effective parameters of `likely-mislabel` (the outlier check needs its label evidence too)."""
    params = params_of(likely_mislabel, spec)
    assert isinstance(params, LabelIssueParams)
    return params


def outlier_params_of(spec: Spec) -> OutlierParams:
    """The effective parameters of `outlier` (mislabels leave out what it flags)."""
    params = params_of(outlier, spec)
    assert isinstance(params, OutlierParams)
    return params


def hard_negative_pairs(ctx: CheckContext) -> set[tuple[int, int]]:
    """(class, class) index pairs the spec names as hard negatives of each other, both ways round."""
    names = ctx.class_names
    pairs = set()
    for name, spec in ctx.spec.classes.items():
        for negative in spec.hard_negatives:
            if negative in names:
                pairs |= {(names.index(name), names.index(negative)), (names.index(negative), names.index(name))}
    return pairs


def outliers_reported(spec: Spec) -> bool:
    """Whether the `outlier` check runs (when it is off in the spec, mislabels keep the examples it would
    have taken: they are reported somewhere)."""
    setting = spec.checks.get("outlier")
    return setting is None or setting.enabled


def outlier_rows(ctx: CheckContext) -> set[int]:
    """Vector rows the `outlier` check flags (a mislabel is never also reported as an outlier)."""
    if not outliers_reported(ctx.spec):
        return set()
    try:
        found = outlier_scores(ctx, outlier_params_of(ctx.spec), label_params_of(ctx.spec))
    except SkipCheck:
        return set()
    return {int(v) for v in np.flatnonzero(found.flagged)}


def _describe_mislabel(ctx: CheckContext, given: int, suggested: int, probabilities: npt.NDArray[np.float64]) -> str:
    names = ctx.class_names
    text = (
        f"labeled {names[given]!r} but the out-of-fold evidence says {names[suggested]!r}: "
        f"p({names[suggested]}) {probabilities[suggested]:.2f} against p({names[given]}) {probabilities[given]:.2f}"
    )
    if (given, suggested) in hard_negative_pairs(ctx):
        text += f" ({names[suggested]!r} is a named hard negative of {names[given]!r}: the expected confusion)"
    return text


@check("likely-mislabel", "embeddings", Severity.WARNING, params=lambda spec: LabelIssueParams(), skip=embeddings_off)
def likely_mislabel(ctx: CheckContext, params: LabelIssueParams) -> Outcome:
    """An example whose label the out-of-fold evidence contradicts: a linear probe trained without it and
    its nearest neighbours (and the team's own model's predictions, when the export has them) say another
    class, by confident learning's per-class thresholds, which estimate from the data how many labels are
    wrong (clean data gets few or no flags).

    Scored by label quality (1 − the normalized margin of the given label): the first ones are the
    likeliest annotation mistakes. An example no class explains is an `outlier` instead."""
    view = view_of(ctx)
    found = label_scores(ctx, params)
    outliers = outlier_rows(ctx)
    issues = found.evidence.issues
    labels = view.labels[found.rows]
    out = []
    for position in np.flatnonzero(issues.flagged).tolist():
        vector = int(found.rows[position])
        if vector in outliers:
            continue
        given, suggested = int(labels[position]), int(issues.suggested[position])
        probabilities = found.evidence.probabilities[position]
        issue = view.flag(
            _describe_mislabel(ctx, given, suggested, probabilities),
            vector,
            value=ctx.class_names[suggested],
        )
        out.append(scored(issue, 1.0 - float(issues.quality[position])))
    out.sort(key=lambda i: -(i.score or 0))
    return len(found.rows), out


def _outlier_defaults(spec: Spec) -> OutlierParams:
    return OutlierParams(class_fence=spec.embedding.outlier_fence)


@check("outlier", "embeddings", Severity.WARNING, params=_outlier_defaults, skip=embeddings_off)
def outlier(ctx: CheckContext, params: OutlierParams) -> Outcome:
    """An example no class explains: far from the rest of its class (mean distance to its own-class
    neighbours beyond the class's Q3 + `class_fence` × IQR) and either far from every example (beyond the
    dataset's `any_fence`) or one no class is confident about (a cluster of something the taxonomy does not
    have, labeled at random).

    Wrong crops, wrong media, or a rare condition: look at them first. The fence is per class, so a
    naturally diverse class is not punished for its spread; a box that frames background is reported as
    `box-background-action` instead."""
    view = view_of(ctx)
    found = outlier_scores(ctx, params, label_params_of(ctx.spec))
    explained: set[int] = set()
    if view.space.context_vectors and ctx.spec.unit == "box" and ctx.spec.tightness.spatial.main_subject:
        explained = set(background_boxes(view)[1])
    ratio = found.score
    finite = ratio[np.isfinite(ratio)]
    issues = []
    for vector in np.flatnonzero(found.flagged).tolist():
        if vector in explained:
            continue
        label = int(view.labels[vector])
        far = found.any_distance[vector] > found.any_fence
        where = f"the rest of {ctx.class_names[label]!r}" if label >= 0 else "every example"
        why = "it is far from every example too" if far else "no class is confident about it"
        issue = view.flag(
            f"far from {where}: mean distance to its nearest same-class examples {ratio[vector]:.2f}× the class's "
            f"fence, and {why}",
            vector,
        )
        issues.append(scored(issue, float((finite < ratio[vector]).mean()) if len(finite) else 1.0))
    issues.sort(key=lambda i: -(i.score or 0))
    return len(view.rows), issues
