"""Every check's parameters in the spec (`checks.<code>.params`), validated by the check's own model, in
the JSON Schema and in `--list-checks`; the per-example table of `check --scores`."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from click.testing import Result
from ruamel.yaml import YAML

from taxospec import load_spec_text, spec_json_schema
from taxospec.checks.params import params_of
from taxospec.errors import ParamsError
from taxospec.plugins.registry import checks
from taxospec.report import Report

Run = Callable[..., Result]
BASE = "taxospec: 1\nname: p\nclasses: {a: {hard_negatives: [b]}, b: {role: negative}}\n"


def test_overrides_merge_over_the_defaults_and_the_section() -> None:
    spec = load_spec_text(
        BASE
        + "duplicates: {relative_distance: 0.2}\n"
        + "checks:\n  outlier: {params: {any_fence: 2.5}}\n  near-duplicate: {params: {hash_distance: 4}}\n"
    )
    outlier = params_of(checks().get("outlier"), spec)
    assert (outlier.class_fence, outlier.any_fence) == (3.0, 2.5)
    near = params_of(checks().get("near-duplicate"), spec)
    assert (near.relative_distance, near.hash_distance) == (0.2, 4)
    across = params_of(checks().get("duplicate-across-splits"), spec)
    assert (across.relative_distance, across.hash_distance) == (0.2, 16)  # its own: the section's


@pytest.mark.parametrize(
    ("code", "params", "message"),
    [
        ("outlier", "{class_fence: 0}", "greater than 0"),
        ("likely-mislabel", "{rounds: 9}", "less than or equal to 5"),
        ("likely-mislabel", "{ranking: sideways}", "'global' or 'per-pair'"),
        ("hard-negative-confusion", "{pretrained: x}", "shared by every embedding check"),
        ("class-not-cohesive", "{k: 1}", "takes no parameters"),
    ],
)
def test_bad_params_are_refused_by_the_checks_own_model(code: str, params: str, message: str) -> None:
    spec = load_spec_text(BASE + f"checks: {{{code}: {{params: {params}}}}}\n")
    with pytest.raises(ParamsError, match=message):
        params_of(checks().get(code), spec)


def test_a_spec_with_bad_params_is_refused_by_check_with_its_location(run_cli: Run, write_spec: Any) -> None:
    path = write_spec(BASE + "checks:\n  outlier: {params: {any_fence: -1}}\n")
    result = run_cli("check", path, Path(__file__).parent.parent / "fixtures" / "label-studio" / "img_easy_JSON.json")
    assert result.exit_code == 2, result.output
    assert f"{path}:5:33: error[bad-check-params]: outlier parameter any_fence" in result.stderr


def test_the_schema_describes_each_checks_params() -> None:
    schema = spec_json_schema()
    good = YAML(typ="safe").load(BASE + "checks: {likely-mislabel: {params: {rounds: 2, probe: false}}}\n")
    jsonschema.validate(good, schema)
    for bad in ("{rounds: zero}", "{nonsense: 1}"):
        data = YAML(typ="safe").load(BASE + f"checks: {{likely-mislabel: {{params: {bad}}}}}\n")
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, schema)
    embedding = schema["$defs"]["EmbeddingSpecParams"]["properties"]
    assert "confusion_share" in embedding and "model" not in embedding  # stage fields are not per check


def test_list_checks_shows_each_checks_params(run_cli: Run, write_spec: Any) -> None:
    listed = run_cli("check", "--list-checks").stdout.splitlines()
    at = next(i for i, line in enumerate(listed) if line.startswith("likely-mislabel "))
    assert listed[at + 1].split() == ["params:", "probe=true", "rounds=3", "ranking=global", "predictions=true"]
    spec = write_spec(BASE + "checks: {likely-mislabel: {params: {rounds: 1}}}\n")
    listed = run_cli("check", spec, "--list-checks").stdout
    assert "rounds=1" in listed  # the values this spec gives
    scopes = {line.split()[0]: line.split()[3] for line in listed.splitlines() if not line.startswith(" ")}
    assert scopes["box-too-small"] == "local" and scopes["split-group-leakage"] == "dataset"


def _precomputed(tmp_path: Path) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 30)
    vectors = np.eye(8)[labels] * 3 + 0.3 * rng.normal(size=(60, 8))
    tasks = [
        {
            "id": i + 1,
            "data": {"image": f"{i}.png"},
            "annotations": [
                {
                    "id": i + 1,
                    "result": [
                        {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["ab"[y]]}}
                    ],
                }
            ],
        }
        for i, y in enumerate(labels)
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    embeddings = tmp_path / "e.npz"
    np.savez(embeddings, task_id=np.arange(1, 61), region_id=np.array([""] * 60), embedding=vectors)
    spec = tmp_path / "spec.yaml"
    spec.write_text(BASE.replace("{hard_negatives: [b]}", "{hard_negatives: [b], min_examples: 1}"))
    return spec, export, embeddings


def test_check_writes_the_per_example_scores(run_cli: Run, tmp_path: Path) -> None:
    spec, export, embeddings = _precomputed(tmp_path)
    out = tmp_path / "scores.csv"
    result = run_cli("check", spec, export, "--embeddings", embeddings, "--scores", out, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 60 and rows[0]["task_id"] == "1" and rows[0]["class"] == "a"
    assert {"label_quality", "outlier_score", "uniqueness", "duplicate_score"} <= set(rows[0])
    report = json.loads(result.stdout)
    assert len(report["scores"]["examples"]) == 60 and report["scores"]["summary"]["geometry"]


def test_scores_need_embeddings(run_cli: Run, tmp_path: Path) -> None:
    spec, export, _ = _precomputed(tmp_path)
    out = tmp_path / "scores.csv"
    result = run_cli("check", spec, export, "--no-embeddings", "--scores", out)
    assert result.exit_code == 2 and "--scores needs the embedding checks" in result.stderr
    result = run_cli("check", spec, export, "--scores", out)  # no media, no embeddings: nothing to score
    assert result.exit_code in (0, 1) and "was not written" in result.stderr and not out.exists()


def test_the_report_and_the_scores_written_in_pieces_are_the_whole_documents(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taxospec.render import report_files, report_json

    spec, export, embeddings = _precomputed(tmp_path)
    whole_json, whole_csv = tmp_path / "whole.json", tmp_path / "whole.csv"
    args = ("check", spec, export, "--embeddings", embeddings, "--format", "json")
    assert run_cli(*args, "-o", whole_json, "--scores", whole_csv).exit_code in (0, 1)
    for rows in (7, 1):  # 60 rows in pieces of 7 (the last one short) and of 1
        monkeypatch.setattr(report_json, "ROWS_PER_PIECE", rows)
        monkeypatch.setattr(report_files, "ROWS_PER_PIECE", rows)
        pieces_json, pieces_csv = tmp_path / f"{rows}.json", tmp_path / f"{rows}.csv"
        result = run_cli(*args, "-o", pieces_json, "--scores", pieces_csv)
        assert result.exit_code in (0, 1), result.stderr
        assert pieces_json.read_bytes() == whole_json.read_bytes()
        assert pieces_csv.read_bytes() == whole_csv.read_bytes()
        assert run_cli(*args).stdout_bytes == whole_json.read_bytes()  # on standard output too
    report = Report.model_validate_json(whole_json.read_bytes())
    assert report.scores is not None and [row.task_id for row in report.scores.examples] == list(range(1, 61))
    assert report.model_dump_json(by_alias=True, indent=2) + "\n" == whole_json.read_text()  # pydantic's own


def test_the_per_example_rows_held_as_columns_read_as_the_list_of_rows(run_cli: Run, tmp_path: Path) -> None:
    """`scores.examples` is made of columns, a row made when read: indexing (negative too), slices,
    iteration, equality with the list of rows it stands for, and validation from that list."""
    from taxospec import check
    from taxospec.example_rows import ExampleRows
    from taxospec.score_tables import ScoreTables

    spec, export, embeddings = _precomputed(tmp_path)
    out = tmp_path / "report.json"
    assert run_cli("check", spec, export, "--embeddings", embeddings, "--format", "json", "-o", out).exit_code in (0, 1)
    tables = check(spec, export, embeddings=embeddings).scores
    assert tables is not None and isinstance(tables.examples, ExampleRows) and len(tables.examples) == 60
    rows = list(tables.examples)
    assert tables.examples[-1] == rows[59] and tables.examples[10:13] == rows[10:13]
    assert tables.examples[::-7] == rows[::-7]
    assert tables.examples == rows and tables.examples != rows[:-1] and tables.examples != "rows"
    with pytest.raises(IndexError):
        tables.examples[60]
    read_back = Report.model_validate_json(out.read_bytes()).scores
    assert read_back is not None and read_back.examples == tables.examples
    again = ScoreTables.model_validate(tables.model_dump(by_alias=True))
    assert again.examples == rows and again == tables
    assert [row["class"] for row in tables.model_dump(by_alias=True)["examples"][:2]] == ["a", "a"]
