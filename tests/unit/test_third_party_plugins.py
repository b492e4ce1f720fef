"""A reader, a media resolver, an embedder and a check from outside the package, installed the way pip
installs a plugin (a dist-info with entry points on sys.path), run end to end: through the Python API and
through the CLI in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taxospec import check, load_spec
from taxospec.media.sources import MediaSources
from taxospec.plugins.interfaces import (
    DeclaresRoots,
    Embedder,
    EmbedderFactory,
    ExportReader,
    LocatingResolver,
    MediaResolver,
)
from taxospec.plugins.manager import get_plugin_manager
from taxospec.plugins.registry import checks, embedders, export_readers, media_resolvers, media_roots, refresh

PLUGIN = '''
"""acme's taxospec plugin: CSV exports, acme:// media, a fake embedder and a check of its own."""
import csv
from pathlib import Path

from taxospec.checks.base import check
from taxospec.dataset import ReadIssue
from taxospec.dataset_builder import DatasetBuilder
from taxospec.media import MediaProblem
from taxospec.media.sources import MediaRoot
from taxospec.findings import Severity
from taxospec.plugins import hookimpl
from taxospec.testing import FakeEmbedderFactory

HEADER = ["task_id", "media", "label", "lighting", "split"]


class AcmeCsvReader:
    name = "acme-csv"

    def sniff(self, path):
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline().strip()
        return None if first == ",".join(HEADER) else f"{path}: not an acme CSV (first line {first[:40]!r})"

    def read(self, path, spec, config):
        builder = DatasetBuilder(spec, str(path), self.name)
        with open(path, encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    task_id = int(row["task_id"])
                except (TypeError, ValueError):
                    builder.issue(ReadIssue("malformed-task", f"line {line}: task_id is not a number"))
                    continue
                task = builder.task(task_id, row["media"], split=row["split"] or None)
                axes = {"lighting": row["lighting"]} if row["lighting"] else {}
                builder.example(task, row["label"] or None, axes=axes)
        return builder.build()


class AcmeResolver:
    name = "acme"

    def roots(self):
        return [MediaRoot("acme-root", "acme's picture folder, for acme:// URIs.")]

    def claims(self, uri):
        return uri.startswith("acme://")

    def locate(self, uri, sources):
        if sources.root("acme-root") is None:
            raise MediaProblem("media-missing", f"{uri}: give --acme-root for acme:// media")
        return sources.root("acme-root") / uri[len("acme://"):]

    def read(self, uri, sources):
        path = self.locate(uri, sources)
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise MediaProblem("media-missing", f"{uri}: {exc.strerror}") from None


@check("acme-night-without-split", "acme", Severity.WARNING)
def night_without_split(ctx, params):
    """A night picture with no split."""
    column = ctx.dataset.axis_names.index("lighting")
    night = ctx.spec.axes["lighting"].values.index("night")
    issues = [
        ctx.flag("a night picture has no split", task=int(task))
        for task, value, split in zip(ctx.columns.task, ctx.columns.axes[column], ctx.columns.split_idx)
        if value == night and split < 0
    ]
    return len(ctx.columns.task), issues


@hookimpl
def taxospec_export_readers():
    return [AcmeCsvReader()]


@hookimpl
def taxospec_media_resolvers():
    return [AcmeResolver()]


@hookimpl
def taxospec_embedders():
    return [FakeEmbedderFactory(name="acme-fake")]


@hookimpl
def taxospec_checks():
    return [night_without_split]
'''

SPEC = """
taxospec: 1
name: acme
unit: image
media: image
classes:
  cat: {hard_negatives: [fox], min_examples: 1, prompts: [a cat, a photo of a cat]}
  fox: {role: negative, min_examples: 1}
axes:
  lighting: {values: [day, night]}
splits: {field: split, values: [train, val]}
embedding: {backend: acme-fake, model: any, pretrained: nothing}
coverage: {per_value: {min_share: 0, max_share: 1}}
balance: {negatives_per_positive: 0}
"""


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The acme plugin installed on sys.path, with a spec, pictures and a CSV export in `tmp_path`."""
    from PIL import Image

    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_taxospec.py").write_text(PLUGIN)
    info = site / "acme_taxospec-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-taxospec\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[taxospec]\nacme = acme_taxospec\n")
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    rows = ["task_id,media,label,lighting,split"]
    for i in range(12):
        label = "cat" if i < 6 else "fox"
        colour = (200, 40 + 8 * i, 30) if label == "cat" else (30, 40 + 8 * i, 200)
        Image.new("RGB", (32, 32), colour).save(pictures / f"{i}.png")
        rows.append(f"{i + 1},acme://{i}.png,{label},{'night' if i % 4 == 0 else 'day'},{'val' if i % 3 else ''}")
    (pictures / "copy.png").write_bytes((pictures / "3.png").read_bytes())
    rows.append("13,acme://copy.png,cat,day,train")  # the same picture as task 4
    rows.append("14,acme://missing.png,cat,day,train")
    rows.append("15,acme://5.png,wolf,day,train")  # a label the spec does not have
    rows.append("x,acme://5.png,cat,day,train")
    (tmp_path / "export.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "spec.yaml").write_text(SPEC)
    monkeypatch.syspath_prepend(str(site))
    get_plugin_manager.cache_clear()
    refresh()
    yield tmp_path
    get_plugin_manager.cache_clear()
    refresh()
    sys.modules.pop("acme_taxospec", None)


def test_the_contributions_meet_the_contracts(acme: Path) -> None:
    reader = export_readers().get("acme-csv")
    resolver = media_resolvers().get("acme")
    factory = embedders().get("acme-fake")
    assert isinstance(reader, ExportReader) and isinstance(factory, EmbedderFactory)
    assert isinstance(resolver, MediaResolver) and isinstance(resolver, LocatingResolver)
    assert isinstance(resolver, DeclaresRoots) and "acme-root" in media_roots()
    assert isinstance(factory.load("m", "p", device="cpu", precision="auto", spec_dir=None), Embedder)
    assert "acme-night-without-split" in checks()


def test_a_third_party_reader_resolver_embedder_and_check_run_end_to_end(acme: Path) -> None:
    report = check(
        load_spec(acme / "spec.yaml"),
        acme / "export.csv",
        media=MediaSources(roots={"acme-root": acme / "pictures"}),
        cache_dir=acme / "cache",
    )
    assert report.export_format == "acme-csv"
    by_code: dict[str, list[str]] = {}
    for finding in report.findings:
        by_code.setdefault(finding.code, []).append(finding.message)
    assert len(by_code["unknown-label"]) == 1 and "'wolf'" in by_code["unknown-label"][0]
    assert len(by_code["malformed-task"]) == 1 and "line 17" in by_code["malformed-task"][0]
    assert len(by_code["media-missing"]) == 1, "the resolver's MediaProblem becomes a finding"
    assert len(by_code["acme-night-without-split"]) == 1, "task 1 is the only night picture with no split"
    near = by_code.get("near-duplicate", []) + by_code.get("duplicate-across-splits", [])
    assert near, f"the copy of task 4 is found by the embedding checks: {sorted(by_code)}"
    ran = {stat.code: stat for stat in report.checks}
    assert ran["outlier"].skipped is None and ran["outlier"].evaluated == 14, "14 pictures were embedded"


def test_the_cli_loads_the_installed_plugin_in_a_process_of_its_own(acme: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(acme / "site"), *sys.path])}
    listed = subprocess.run(
        [sys.executable, "-m", "taxospec", "plugins"], capture_output=True, text=True, env=env, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert "acme-taxospec 0.3" in listed.stdout
    ran = subprocess.run(
        [sys.executable, "-m", "taxospec", "check", acme / "spec.yaml", acme / "export.csv", "--format", "json"]
        + ["--acme-root", acme / "pictures", "--cache-dir", acme / "cache", "--fail-on", "warning"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ran.returncode == 1, ran.stderr
    report = json.loads(ran.stdout)
    codes = {finding["code"] for finding in report["findings"]}
    assert {"acme-night-without-split", "unknown-label", "media-missing"} <= codes
    assert "Traceback" not in ran.stderr


def test_the_testing_helpers_build_exports_and_register_plugins(tmp_path: Path) -> None:
    """`taxospec.testing`: Label Studio tasks from the builders read as they say, and a plugin registered
    for a block is there only inside it."""
    import types

    from PIL import Image

    from taxospec import read_export
    from taxospec.plugins import hookimpl
    from taxospec.testing import FakeEmbedderFactory, box, choice, registered, task, write_export

    spec = load_spec(acme_spec(tmp_path, unit="box", backend="fake"))
    for i in range(4):
        Image.new("RGB", (64, 64), (60 * i, 90, 200)).save(tmp_path / f"{i}.png")
    tasks = [
        task(
            i + 1,
            f"{i}.png",
            box("cat" if i % 2 else "fox", 10, 10, 50, 40, region_id=f"r{i}"),
            choice("lighting", "night" if i else "dusk"),
            data={"split": "train"},
        )
        for i in range(4)
    ]
    export = write_export(tasks, tmp_path / "export.json")
    dataset = read_export(spec, export)
    assert [dataset.class_names[c] for c in dataset.columns.class_idx] == ["fox", "cat", "fox", "cat"]
    assert dataset.columns.w.tolist() == [50.0] * 4 and dataset.items.split == ["train"] * 4
    assert [(w.axis, w.values) for w in dataset.written] == [("lighting", ("dusk",))], "not a lighting value"
    assert dataset.issues == []
    plugin = types.ModuleType("fake_embedder_plugin")
    plugin.taxospec_embedders = hookimpl(lambda: [FakeEmbedderFactory()])  # type: ignore[attr-defined]
    assert "fake" not in embedders()
    with registered(plugin, "fake-embedder"):
        assert "fake" in embedders()
        report = check(spec, export, media=MediaSources(media_root=tmp_path), cache_dir=tmp_path / "cache")
        assert {s.code: s for s in report.checks}["outlier"].evaluated == 4
    assert "fake" not in embedders()


def acme_spec(folder: Path, *, unit: str, backend: str) -> Path:
    """The acme spec with another unit and embedder, written to `folder`."""
    path = folder / "spec.yaml"
    path.write_text(SPEC.replace("unit: image", f"unit: {unit}").replace("backend: acme-fake", f"backend: {backend}"))
    return path


def test_annotator_disagreement_is_computed_by_the_check_from_any_reader(tmp_path: Path) -> None:
    """The check compares the judgements a reader recorded: from a Label Studio export with two
    annotations, and from a dataset built by hand, alike."""
    from taxospec import read_export
    from taxospec.checks.run import run_checks
    from taxospec.dataset_builder import DatasetBuilder
    from taxospec.testing import box, choice, task, write_export

    spec = load_spec(acme_spec(tmp_path, unit="box", backend="fake"))
    first = task(1, "0.png", box("cat", 1, 1, 9, 9, region_id="r1"), choice("lighting", "day"))
    second = task(1, "0.png", box("fox", 1, 1, 9, 9, region_id="r1"), choice("lighting", "night"), annotator=2)
    second["annotations"][0]["id"] = 2
    first["annotations"].append(second["annotations"][0])
    findings, _ = run_checks(read_export(spec, write_export([first], tmp_path / "export.json")))
    disagree = [f.message for f in findings if f.code == "annotator-disagreement"]
    assert len(disagree) == 2, disagree
    assert {m.split(" disagree on ")[1] for m in disagree} == {"axis lighting: night vs day", "the labels: fox vs cat"}
    assert all(m.startswith("annotation 2 (by #2) and annotation 1 (by #1)") for m in disagree), "the later counts"
    builder = DatasetBuilder(spec, "by hand", "neutral")
    row = builder.task(7, "x.png", annotations=2)
    builder.example(row, "cat")
    builder.judgement(row, 1, "#1", {"the label": ("cat",)}, counted=True)
    builder.judgement(row, 2, "#2", {"the label": ("fox",)}, counted=False)
    findings, _ = run_checks(builder.build())
    [only] = [f for f in findings if f.code == "annotator-disagreement"]
    assert only.task_id == 7 and only.message.endswith("disagree on the label: cat vs fox")
