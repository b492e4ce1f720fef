"""The Python facade: `check(spec, export) -> Report`, and the steps it is made of (the shared stages,
reading and embedding, live in `taxospec.stages` and are re-exported here)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from taxospec.__about__ import __version__
from taxospec.checks.base import CheckContext
from taxospec.checks.run import run_checks
from taxospec.coverage import Coverage, compute_coverage
from taxospec.dataset import Dataset
from taxospec.deployment.run import deployment_summary, load_deployment, with_label_next
from taxospec.deployment.todo_items import with_deployment
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.errors import OptionError
from taxospec.example_table import ExampleTable
from taxospec.findings import CheckStat, ClassCount, Finding, Severity, Summary, cell_conditions
from taxospec.media.sources import MediaSources, is_inline
from taxospec.report import CellModel, Report
from taxospec.spec.load import load_spec
from taxospec.spec.model import Spec
from taxospec.stages import build_embeddings as build_embeddings
from taxospec.stages import read_export as read_export
from taxospec.stages import reader_for as reader_for
from taxospec.stages import task_links
from taxospec.todo import TodoList, build_todo, with_scenario_gaps

if TYPE_CHECKING:
    from taxospec.embeddings.ray_run import RaySettings

UsageError = OptionError
"""The former name of `OptionError` (it shadowed click's `UsageError`); kept for callers."""

MISSING = "(missing)"
NO_SPLIT = "(none)"


def check(
    spec: Spec | str | Path,
    export: str | Path,
    *,
    config: object | None = None,
    ls_url: str | None = None,
    select: set[str] | None = None,
    embeddings: EmbeddingSpace | str | Path | None = None,
    media: MediaSources | None = None,
    embed: bool = True,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 32,
    progress: bool = False,
    explore: bool = False,
    deployment: list[str] | None = None,
    cluster: RaySettings | None = None,
) -> Report:
    """Check a Label Studio export against a spec and return the report (findings, statistics, counts).

    `spec` is a loaded `Spec` or a path to one; `config` an optional labeling config (XML path or parsed)
    that tells which control holds what; `ls_url` the Label Studio URL for links to tasks. The embedding
    checks run on `embeddings` (an `EmbeddingSpace` or a precomputed file), or on embeddings computed with
    the spec's model from the media that `media` says where to find; without either they are skipped.
    `explore` adds what the HTML explorer shows: every example (`Report.examples`) and, with embeddings,
    the examples' 2-D map and nearest neighbours (`scores.map`). The deployment checks measure the data
    against the spec's `deployment` samples and the folders in `deployment` (with embeddings only).
    With `cluster` (`RaySettings`), what the cache lacks is embedded on that Ray cluster first.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    dataset = read_export(spec, export, config)
    space = build_embeddings(
        dataset,
        embeddings=embeddings,
        media=media,
        embed=embed,
        cache_dir=cache_dir,
        device=device,
        batch_size=batch_size,
        progress=progress,
        cluster=cluster,
    )
    deployed = None
    if space is not None and space.unavailable_because is None:
        deployed = load_deployment(
            spec, deployment or [], media, cache_dir=cache_dir, device=device, batch_size=batch_size, progress=progress
        )
    context = CheckContext(dataset, space, deployed)
    link = task_links(export, ls_url)
    findings, stats = run_checks(dataset, link=link, select=select, embeddings=space, context=context)
    return build_report(dataset, findings, stats, str(export), context=context, explore=explore)


def todo(
    spec: Spec | str | Path,
    export: str | Path,
    *,
    config: object | None = None,
    split: str | None = None,
    budget: int | None = None,
    embeddings: EmbeddingSpace | str | Path | None = None,
    media: MediaSources | None = None,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 32,
    progress: bool = False,
    deployment: list[str] | None = None,
    pool: str | None = None,
    pool_size: int = 50,
    cluster: RaySettings | None = None,
) -> TodoList:
    """The collection to-do list for `export` against `spec` (for one `split`, with a plan for `budget`).

    With `embeddings` or `media` (as for `check`), the scenarios no example of a class looks like in
    embedding space (`scenario-gap`) are items too, as in `check`'s report; they are asked for across
    splits, so a list for one `split` leaves them out. With `media`, the uncovered scenarios of the
    deployment sample (the spec's, and the folders in `deployment`) are items too, and `pool` (a folder,
    glob or Label Studio export of unlabeled pictures) is ranked: its `pool_size` pictures to label first
    (`TodoList.label_next`). With `cluster` (`RaySettings`), what the cache lacks of the labeled data's
    media is embedded on that Ray cluster first (the deployment sample and the pool are embedded here)."""
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if split is not None and (spec.splits is None or split not in spec.splits.values):
        known = ", ".join(spec.splits.values) if spec.splits else "none: the spec has no splits section"
        raise OptionError(f"unknown split {split!r} (the spec's splits: {known})")
    if pool is not None and (media is None or embeddings is not None or split is not None):
        raise OptionError("--pool needs the labeled data's media (the media options), no --embeddings and no --split")
    if cluster is not None and (media is None or embeddings is not None or split is not None):
        raise OptionError(
            "--ray embeds the labeled data's media: it needs the media options, no --embeddings and no --split"
        )
    dataset = read_export(spec, export, config)
    context = CheckContext(dataset)
    listed = build_todo(compute_coverage(dataset, context), str(export), split=split, budget=budget)
    if split is not None or (embeddings is None and media is None):
        return listed
    options: dict[str, Any] = {"cache_dir": cache_dir, "device": device, "batch_size": batch_size, "progress": progress}
    space = build_embeddings(dataset, embeddings=embeddings, media=media, cluster=cluster, **options)
    if space is None:
        return listed
    findings, _ = run_checks(dataset, select={"scenario-gap"}, embeddings=space)
    listed = _with_gaps(listed, dataset, context, findings)
    deployed = load_deployment(spec, deployment or [], media, **options) if embeddings is None else None
    scored = CheckContext(dataset, space, deployed)
    summary = deployment_summary(scored)
    if summary is not None:
        listed = with_deployment(listed, spec, summary, len(dataset.samples))
    if pool is None:
        return listed
    return with_label_next(scored, listed, pool, media, pool_size, options)


def _with_gaps(listed: TodoList, dataset: Dataset, context: CheckContext, findings: list[Finding]) -> TodoList:
    """`listed` with an item for each `scenario-gap` finding (see `todo.with_scenario_gaps`)."""
    gaps = [
        (f.class_name, conditions)
        for f in findings
        if f.code == "scenario-gap" and f.class_name and (conditions := cell_conditions(f.axis, f.value))
    ]
    counts = {name: int(context.class_counts[c]) for c, name in enumerate(context.class_names)}
    return with_scenario_gaps(listed, dataset.spec, gaps, counts)


def build_report(
    dataset: Dataset,
    findings: list[Finding],
    stats: list[CheckStat],
    export_label: str,
    context: CheckContext | None = None,
    explore: bool = False,
) -> Report:
    """Assemble the report document from a dataset, its findings and the check statistics; with the
    checks' `context` (of a run with embeddings), the example scores and tightness tables too; with
    `explore`, every example and the examples' map (see `check`)."""
    from taxospec.score_tables import score_tables

    spec = dataset.spec
    scored = context is not None and context.embeddings is not None
    tables = score_tables(context, with_map=explore) if context is not None and scored else None
    examples = _example_table(dataset, context if tables is not None else None) if explore else None
    context_notes = context.embeddings.notes if context is not None and context.embeddings is not None else []
    deployed = deployment_summary(context) if context is not None else None
    context = CheckContext(dataset)
    severities = {s.value: sum(1 for f in findings if f.severity == s) for s in Severity}
    coverage = compute_coverage(dataset, context)
    todo_list = _with_gaps(build_todo(coverage, export_label), dataset, context, findings)
    if deployed is not None:
        todo_list = with_deployment(todo_list, spec, deployed, len(dataset.samples))
    files, inline = _media_of(dataset, findings, every=explore)
    report = Report(
        taxospec_version=__version__,
        spec_name=spec.name,
        spec_path=spec.source.path if spec.source else None,
        export_path=export_label,
        export_format=dataset.format,
        summary=Summary(
            tasks=len(dataset.items),
            annotations=dataset.annotations_total,
            samples=len(dataset.samples),
            findings=severities,
        ),
        classes=_class_counts(context),
        axis_counts=_axis_counts(context),
        checks=stats,
        findings=findings,
        notes=[*dataset.notes, *(context_notes)],
        coverage=todo_list.coverage,
        cells=_cells(coverage),
        todo=todo_list.items,
        media=files,
        scores=tables,
        examples=examples,
        deployment=deployed,
    )
    report.keep_inline_media(inline)
    return report


def _example_table(dataset: Dataset, scored: CheckContext | None) -> ExampleTable:
    """Every example of `dataset`, joined to its row of the scores when the run has them."""
    from taxospec.checks.embedding_view import view_of
    from taxospec.example_table import example_table

    return example_table(dataset, view_of(scored).rows if scored is not None else None)


def _class_counts(context: CheckContext) -> dict[str, ClassCount]:
    """Examples per class, in total and per split (`(none)` for those without one, when there are splits)."""
    spec, cols = context.spec, context.columns
    classes = {}
    for c, name in enumerate(context.class_names):
        of_class = cols.class_idx == c
        by_split: dict[str, int] = {}
        for s, split in enumerate(cols.split_names):
            n = int((of_class & (cols.split_idx == s)).sum())
            if n:
                by_split[split] = n
        unsplit = int((of_class & (cols.split_idx < 0)).sum())
        if unsplit and spec.splits is not None:
            by_split[NO_SPLIT] = unsplit
        classes[name] = ClassCount(
            total=int(context.class_counts[c]),
            by_split=by_split,
            minimum=spec.min_examples_of(name),
            role=spec.classes[name].role,
        )
    return classes


def _axis_counts(context: CheckContext) -> dict[str, dict[str, dict[str, int]]]:
    """Examples per axis, class and value (`(missing)`: no value), for the classes each axis applies to."""
    spec = context.spec
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for axis_name, axis in spec.axes.items():
        matrix = context.axis_counts[axis_name]
        counts[axis_name] = {
            name: {
                **{value: int(matrix[c][v]) for v, value in enumerate(axis.values)},
                MISSING: int(matrix[c][-1]),
            }
            for c, name in enumerate(context.class_names)
            if axis_name in spec.axes_of(name)
        }
    return counts


def _cells(coverage: Coverage) -> list[CellModel]:
    """Every coverage cell of every class, as the report lists them."""
    return [
        CellModel(
            class_name=cell.class_name,
            split=cell.split,
            axes=list(cell.axes),
            values=list(cell.values),
            count=cell.count,
            quota=cell.quota,
            status=cell.status,
        )
        for class_coverage in coverage.classes.values()
        for cell in class_coverage.cells
    ]


def _media_of(dataset: Dataset, findings: list[Finding], every: bool = False) -> tuple[dict[int, str], dict[int, str]]:
    """Task id → media URI for the tasks that have findings (or are named by one: a duplicate group), or of
    `every` task: the files, and apart from them the pictures inlined in the tasks (no file to open)."""
    flagged = {f.task_id for f in findings if f.task_id is not None}
    flagged |= {task for f in findings for task in f.related_tasks}
    files: dict[int, str] = {}
    inline: dict[int, str] = {}
    if not flagged and not every:
        return files, inline
    for task_id, uri in zip(dataset.items.task_id.tolist(), dataset.items.media, strict=True):
        if (every or task_id in flagged) and uri:
            (inline if is_inline(uri) else files)[int(task_id)] = uri
    return files, inline
