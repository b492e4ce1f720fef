"""What a check is, how checks are declared, and the context they share.

A check (the pandera pattern) is a function plus named parameters taken from the spec: it receives the
`CheckContext` and its parameters and returns how many things it examined and the ones that fail, as
`Flag`s. The runner turns those into `Finding`s with the check's code, family and severity. Each
module of this package declares its checks with `@check(...)` and registers them through the
`taxospec_checks` hook.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from taxospec.dataset import Dataset, ReadIssue, SampleColumns
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.findings import Flag, Severity
from taxospec.spec.model import Spec

if TYPE_CHECKING:
    from taxospec.deployment.embed import UnlabeledSpace

P = TypeVar("P")
T = TypeVar("T")

Outcome = tuple[int, list[Flag]]
"""What a check returns: how many things it evaluated, and one flag per thing that failed."""


class SkipCheck(Exception):
    """Raised by a check that cannot run on this data (e.g. no embeddings); the reason goes in the report."""


IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Check(Generic[P]):
    """A named dataset check: code, family, default severity, parameters from the spec, and the function."""

    name: str
    family: str
    severity: Severity
    summary: str
    run: Callable[[CheckContext, P], Outcome]
    params: Callable[[Spec], P]
    skip: Callable[[Spec], str | None]
    local: bool = False
    """Whether what it finds on a task depends on that task's own export record alone (its annotations and
    data; not other tasks, not the media): such a check can re-check one task as it is saved. The findings
    of the others stay as the last whole-dataset run left them."""

    @property
    def description(self) -> str:
        """The check's docstring: what it catches and why it matters for fine-tuning."""
        return (self.run.__doc__ or self.summary).strip()


def check(
    name: str,
    family: str,
    severity: Severity,
    params: Callable[[Spec], Any] = lambda spec: None,
    skip: Callable[[Spec], str | None] = lambda spec: None,
    *,
    local: bool = False,
) -> Callable[[Callable[[CheckContext, Any], Outcome]], Check[Any]]:
    """Declare a check; the decorated function's docstring is its documentation. `local`: see `Check.local`."""

    def declare(func: Callable[[CheckContext, Any], Outcome]) -> Check[Any]:
        summary = " ".join((func.__doc__ or name).strip().split("\n\n")[0].split())
        return Check(name, family, severity, summary, func, params, skip, local)

    return declare


class CheckContext:
    """The dataset plus the expensive derived data every check shares, each computed once."""

    def __init__(
        self, dataset: Dataset, embeddings: EmbeddingSpace | None = None, deployment: UnlabeledSpace | None = None
    ) -> None:
        """`deployment`: the embedded deployment sample, for the deployment checks."""
        self.dataset = dataset
        self.spec: Spec = dataset.spec
        self.embeddings = embeddings
        self.deployment = deployment
        self.memo: dict[Any, Any] = {}
        """Work several checks share (the embedding view, the example scores, duplicate groups), keyed by
        what it is and the parameters it was computed with; filled on first use."""

    def shared(self, key: Any, compute: Callable[[], T]) -> T:
        """`memo[key]`, computed by `compute()` on first use."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]  # type: ignore[no-any-return]

    @cached_property
    def columns(self) -> SampleColumns:
        """The samples as numpy columns."""
        return self.dataset.columns

    @cached_property
    def issues_by_code(self) -> dict[str, list[ReadIssue]]:
        """The reader's issues and the embedding stage's, grouped by code."""
        grouped: dict[str, list[ReadIssue]] = defaultdict(list)
        stage = self.embeddings.issues if self.embeddings is not None else []
        for issue in [*self.dataset.issues, *stage]:
            grouped[issue.code].append(issue)
        return grouped

    @cached_property
    def video_facts(self) -> dict[int, tuple[float, int]]:
        """Per task, its video's own frame rate and frame count, where the embedding stage read it."""
        return dict(self.embeddings.video_facts) if self.embeddings is not None else {}

    @cached_property
    def class_names(self) -> list[str]:
        """Class names in index order."""
        return self.dataset.class_names

    @cached_property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Samples whose class is known."""
        return self.columns.class_idx >= 0

    @cached_property
    def class_counts(self) -> IntArray:
        """Examples per class index."""
        return np.bincount(self.columns.class_idx[self.valid], minlength=len(self.class_names)).astype(np.int64)

    def count_of(self, class_name: str) -> int:
        """Examples of `class_name`."""
        return int(self.class_counts[self.class_names.index(class_name)])

    @cached_property
    def axis_counts(self) -> dict[str, npt.NDArray[np.int64]]:
        """Per axis: a (classes × values+1) matrix of counts; the last column counts missing values."""
        cols = self.columns
        out: dict[str, npt.NDArray[np.int64]] = {}
        n_classes = len(self.class_names)
        for i, (axis_name, axis) in enumerate(self.spec.axes.items()):
            n_values = len(axis.values)
            values = cols.axes[i][self.valid]
            values = np.where(values >= 0, values, n_values)
            flat = cols.class_idx[self.valid] * (n_values + 1) + values
            counts = np.bincount(flat, minlength=n_classes * (n_values + 1))
            out[axis_name] = counts.reshape(n_classes, n_values + 1).astype(np.int64)
        return out

    def split_mask(self, split: str) -> npt.NDArray[np.bool_]:
        """Samples whose task is in `split`."""
        cols = self.columns
        if split not in cols.split_names:
            return np.zeros(len(cols.class_idx), dtype=bool)
        return np.asarray(cols.split_idx == cols.split_names.index(split), dtype=bool)

    def flag(self, message: str, sample: int | None = None, **where: Any) -> Flag:
        """A `Flag` saying `message`, located at `sample` (its task, annotation and region) when given."""
        if sample is not None:
            samples = self.dataset.samples
            where.setdefault("task", int(samples.task[sample]))
            where.setdefault("annotation_id", int(samples.annotation_id[sample]))
            where.setdefault("region_id", samples.region_id[sample])
            class_idx = int(samples.class_idx[sample])
            if class_idx >= 0:
                where.setdefault("class_name", self.class_names[class_idx])
            start, end = float(samples.start_s[sample]), float(samples.end_s[sample])
            if math.isfinite(start) and math.isfinite(end) and end >= start >= 0:
                where.setdefault("at_seconds", round((start + end) / 2, 3))
        return Flag(message, **where)

    def per_sample(self, mask: npt.NDArray[np.bool_], describe: Callable[[int], str]) -> list[Flag]:
        """One flag per sample where `mask` holds, located at the sample, saying `describe(sample)`."""
        return [self.flag(describe(int(s)), int(s)) for s in np.flatnonzero(mask)]

    def from_reader(self, code: str) -> list[Flag]:
        """What the reader or the embedding stage reported under `code`, as flags."""
        return [issue.flag() for issue in self.issues_by_code.get(code, [])]
