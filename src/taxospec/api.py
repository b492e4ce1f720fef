"""The Python facade: `check(spec, export) -> Report`, and the steps it is made of."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from taxospec.__about__ import __version__
from taxospec.checks.base import CheckContext
from taxospec.checks.run import TaskLink, run_checks
from taxospec.coverage import Coverage, compute_coverage
from taxospec.dataset import Dataset
from taxospec.embeddings.space import EmbeddingSpace, load_precomputed
from taxospec.errors import EmbeddingError, ExportError, OptionError
from taxospec.example_table import ExampleTable
from taxospec.findings import CheckStat, ClassCount, Finding, Severity, Summary, cell_conditions
from taxospec.media.sources import MediaSources, is_inline
from taxospec.plugins.interfaces import ExportReader, LinksTasks
from taxospec.plugins.registry import embedders, export_readers
from taxospec.report import CellModel, Report
from taxospec.spec.load import load_spec
from taxospec.spec.model import Spec
from taxospec.todo import TodoList, build_todo, with_scenario_gaps

UsageError = OptionError
"""The former name of `OptionError` (it shadowed click's `UsageError`); kept for callers."""

MISSING = "(missing)"
NO_SPLIT = "(none)"


def reader_for(export: str | Path) -> ExportReader:
    """The first registered reader that accepts `export`; `ExportError` with the first one's reason when
    none does."""
    reasons = []
    for reader in export_readers():
        reason = reader.sniff(Path(export))
        if reason is None:
            return reader
        reasons.append(reason)
    raise ExportError(reasons[0] if reasons else f"{export}: no export reader is installed")


def read_export(spec: Spec, export: str | Path, config: object | None = None) -> Dataset:
    """Read `export` against `spec` with the first registered reader that accepts it; `config` is the
    project's labeling configuration in the reader's terms (for Label Studio: the XML's path, or parsed)."""
    return reader_for(export).read(Path(export), spec, config)


def task_links(export: str | Path, base_url: str | None) -> TaskLink | None:
    """How findings link to their tasks under `base_url` (the labeling tool's URL), when the export's
    reader can say."""
    reader = reader_for(export)
    if not base_url or not isinstance(reader, LinksTasks):
        return None
    return functools.partial(reader.task_link, base_url)


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
) -> Report:
    """Check a Label Studio export against a spec and return the report (findings, statistics, counts).

    `spec` is a loaded `Spec` or a path to one; `config` an optional labeling config (XML path or parsed)
    that tells which control holds what; `ls_url` the Label Studio URL for links to tasks. The embedding
    checks run on `embeddings` (an `EmbeddingSpace` or a precomputed file), or on embeddings computed with
    the spec's model from the media that `media` says where to find; without either they are skipped.
    `explore` adds what the HTML explorer shows: every example (`Report.examples`) and, with embeddings,
    the examples' 2-D map and nearest neighbours (`scores.map`).
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
    )
    context = CheckContext(dataset, space)
    link = task_links(export, ls_url)
    findings, stats = run_checks(dataset, link=link, select=select, embeddings=space, context=context)
    return build_report(dataset, findings, stats, str(export), context=context, explore=explore)


def build_embeddings(
    dataset: Dataset,
    *,
    embeddings: EmbeddingSpace | str | Path | None = None,
    media: MediaSources | None = None,
    embed: bool = True,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 32,
    progress: bool = False,
) -> EmbeddingSpace | None:
    """The embedding space for `dataset`: given, loaded from a precomputed file, computed, or None."""
    spec = dataset.spec
    if not embed or not spec.embedding.enabled:
        return None
    if isinstance(embeddings, EmbeddingSpace):
        return embeddings
    if embeddings is not None:
        task_ids = np.asarray(dataset.items.task_id, dtype=np.int64)[dataset.columns.task]
        space = load_precomputed(embeddings, task_ids, dataset.samples.region_id)
        space.search_device = device
        return space
    inline = any(is_inline(uri) for uri in dataset.items.media)  # pictures that came inside the tasks
    if media is None and inline:
        media = MediaSources()
    if media is None or not (media.any or inline):
        return None
    return _computed_space(dataset, media, cache_dir=cache_dir, device=device, batch_size=batch_size, progress=progress)


def _computed_space(
    dataset: Dataset,
    media: MediaSources,
    *,
    cache_dir: str | Path | None,
    device: str,
    batch_size: int,
    progress: bool,
) -> EmbeddingSpace:
    """The embedding space computed with the spec's embedder (loaded only when something needs encoding),
    with the perceptual hashes of the pictures; an unavailable space when only inlined pictures were to be
    embedded and the model does not load."""
    from taxospec.embeddings import picture_hashes
    from taxospec.embeddings.cache import EmbeddingCache, default_cache_dir
    from taxospec.embeddings.lazy import LazyEmbedder, ModelChanged, ModelRequest, lazy_embedder, loaded_embedder
    from taxospec.embeddings.pipeline import embed_dataset

    spec = dataset.spec
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    factory = embedders().get(spec.embedding.backend)
    request = ModelRequest(
        model=spec.embedding.model,
        pretrained=spec.embedding.pretrained,
        device=device,
        spec_dir=Path(spec.source.path).parent if spec.source else None,
        architecture_file=spec.embedding.architecture_file,
    )

    def folder(model_id: str, preprocess_id: str) -> Path:
        return EmbeddingCache.folder_for(root, model_id, preprocess_id)

    try:
        embedder = lazy_embedder(factory, request, root, folder)
    except EmbeddingError as exc:
        if media.any:  # media the user pointed at: the model must load
            raise
        # pictures that came inside the tasks, unasked for: the embedding checks say why they skip
        return EmbeddingSpace.unavailable(f"the pictures inlined in the tasks were not embedded: {exc}")

    def run(embedder: LazyEmbedder) -> EmbeddingSpace:
        cache = EmbeddingCache(root, embedder.model_id, embedder.preprocess_id)
        return embed_dataset(dataset, embedder, media, cache=cache, batch_size=batch_size, progress=progress)

    try:
        space = run(embedder)
    except ModelChanged as changed:  # raised before anything was encoded: start over with the loaded model
        space = run(loaded_embedder(changed.loaded, root, folder, request.recipe(factory)))  # it cannot change
    hashes, properties = picture_hashes.wanted(dataset), picture_hashes.properties_wanted(dataset)
    if hashes or properties:
        found = picture_hashes.picture_facts(
            dataset, media, space.content_hashes, root, hashes=hashes, properties=properties
        )
        space.perceptual_hashes, space.picture_properties = found
    return space


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
) -> TodoList:
    """The collection to-do list for `export` against `spec` (for one `split`, with a plan for `budget`).

    With `embeddings` or `media` (as for `check`), the scenarios no example of a class looks like in
    embedding space (`scenario-gap`) are items too, as in `check`'s report; they are asked for across
    splits, so a list for one `split` leaves them out."""
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if split is not None and (spec.splits is None or split not in spec.splits.values):
        known = ", ".join(spec.splits.values) if spec.splits else "none: the spec has no splits section"
        raise OptionError(f"unknown split {split!r} (the spec's splits: {known})")
    dataset = read_export(spec, export, config)
    context = CheckContext(dataset)
    listed = build_todo(compute_coverage(dataset, context), str(export), split=split, budget=budget)
    if split is not None or (embeddings is None and media is None):
        return listed
    space = build_embeddings(
        dataset,
        embeddings=embeddings,
        media=media,
        cache_dir=cache_dir,
        device=device,
        batch_size=batch_size,
        progress=progress,
    )
    if space is None:
        return listed
    findings, _ = run_checks(dataset, select={"scenario-gap"}, embeddings=space)
    return _with_gaps(listed, dataset, context, findings)


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
    context = CheckContext(dataset)
    severities = {s.value: sum(1 for f in findings if f.severity == s) for s in Severity}
    coverage = compute_coverage(dataset, context)
    todo_list = _with_gaps(build_todo(coverage, export_label), dataset, context, findings)
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
