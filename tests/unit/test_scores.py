"""The example scores on synthetic data of known geometry: each score's mathematics, and the defects
planted on several seeds found through the real check path."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taxospec import load_spec_text, read_export
from taxospec.api import build_report
from taxospec.checks.base import CheckContext
from taxospec.checks.run import run_checks
from taxospec.embeddings.index import NeighborIndex
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.scores import geometry
from taxospec.scores.confident import find_label_issues, per_class_thresholds
from taxospec.scores.duplicates import find_duplicates, leader_groups
from taxospec.scores.probe import ridge_probe


def _blobs(seed: int, n: int = 80, classes: int = 3, dim: int = 8, spread: float = 0.5) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 3
    labels = np.repeat(np.arange(classes), n)
    return centres[labels] + spread * rng.normal(size=(len(labels), dim)), labels


# --- confident learning --------------------------------------------------------------------------------


def test_thresholds_are_the_mean_probability_of_each_class_where_given() -> None:
    probabilities = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    labels = np.array([0, 0, 1, 1])
    assert per_class_thresholds(probabilities, labels).tolist() == pytest.approx([0.8, 0.7])


def test_confident_learning_flags_the_contradicted_labels_and_nothing_on_clean_probabilities() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 50)
    probabilities = np.full((150, 3), 0.05)
    probabilities[np.arange(150), labels] = 0.9
    probabilities += rng.uniform(0, 0.02, probabilities.shape)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    assert not find_label_issues(probabilities, labels).flagged.any()
    wrong = np.array([3, 70, 120])
    noisy = labels.copy()
    noisy[wrong] = (labels[wrong] + 1) % 3  # the probabilities still say the true class
    issues = find_label_issues(probabilities, noisy)
    assert set(np.flatnonzero(issues.flagged)) == set(wrong.tolist())
    assert (issues.suggested[wrong] == labels[wrong]).all()
    assert issues.noise.sum() > 0 and issues.quality[wrong].max() < issues.quality.min() + 0.5


# --- the probe -----------------------------------------------------------------------------------------


def test_ridge_leave_one_out_predictions_equal_refitting_without_the_example() -> None:
    features, labels = _blobs(1, n=12, dim=4, spread=2.0)
    probabilities, penalty = ridge_probe(features, labels, 3)
    for left_out in (0, 17, 35):
        keep = np.arange(len(labels)) != left_out
        train = np.zeros(len(labels), dtype=bool)
        train[keep] = True
        refit, _ = ridge_probe(features, labels, 3, train=train, penalties=(penalty,))
        # the same scores up to the temperature, which is fitted on different rows: compare the rankings
        assert np.argsort(refit[left_out]).tolist() == np.argsort(probabilities[left_out]).tolist()


def test_probe_probabilities_are_out_of_sample() -> None:
    features, labels = _blobs(2)
    noisy = labels.copy()
    noisy[::20] = (noisy[::20] + 1) % 3
    probabilities, _ = ridge_probe(features, noisy, 3)
    flipped = np.arange(len(labels))[::20]
    assert (probabilities[flipped].argmax(axis=1) == labels[flipped]).mean() > 0.9  # not the noisy label


def test_the_probe_read_in_chunks_equals_the_probe_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from taxospec.scores import chunked

    features, labels = _blobs(6, n=70, dim=8, spread=1.5)
    features = features.astype(np.float32)
    train = np.arange(len(labels)) % 7 != 0  # some rows outside the fit: predicted by the fitted probe
    whole, penalty = ridge_probe(features, labels, 3, train=train)
    monkeypatch.setattr(chunked, "CHUNK", 16)  # 210 rows: 14 chunks of the training rows, 2 of the rest
    pieces, chunked_penalty = ridge_probe(features, labels, 3, train=train)
    assert chunked_penalty == penalty
    np.testing.assert_allclose(pieces, whole, atol=1e-5)


# --- the geometry --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", geometry.GEOMETRIES)
def test_each_geometry_prepared_in_chunks_of_float32_is_the_float64_preparation(
    monkeypatch: pytest.MonkeyPatch, name: geometry.GeometryName
) -> None:
    from taxospec.scores import chunked

    x = np.random.default_rng(7).normal(2.0, 3.0, size=(203, 6))
    centred = x - x.mean(axis=0)
    standardized = centred / x.std(axis=0)
    unit = {
        "cosine": x / np.linalg.norm(x, axis=1, keepdims=True),
        "centered-cosine": centred / np.linalg.norm(centred, axis=1, keepdims=True),
        "standardized-cosine": standardized / np.linalg.norm(standardized, axis=1, keepdims=True),
    }
    monkeypatch.setattr(chunked, "CHUNK", 50)
    space = geometry.prepare(x.astype(np.float32), name)
    assert space.neighbours.dtype == np.float32 and space.distances.dtype == np.float32
    np.testing.assert_allclose(
        space.distances, standardized if name.startswith("standardized") else x, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(space.neighbours, unit.get(name, space.distances), rtol=1e-5, atol=1e-5)
    assert (space.neighbours is space.distances) == name.endswith("euclidean"), "one array where the rows are one"


@pytest.mark.parametrize("name", geometry.GEOMETRIES)
def test_each_geometry_of_float16_features_is_the_float64_preparation_to_float16_precision(
    monkeypatch: pytest.MonkeyPatch, name: geometry.GeometryName
) -> None:
    """A large space's float16 features: prepared in float16, standardized rows computed when read
    (`AffineRows`: no second matrix), read a chunk at a time as a held matrix is, to float16's precision."""
    from taxospec.scores import chunked

    x = np.random.default_rng(7).normal(2.0, 3.0, size=(203, 6)).astype(np.float16)
    wide = x.astype(np.float64)
    standardized = (wide - wide.mean(axis=0)) / wide.std(axis=0)
    monkeypatch.setattr(chunked, "CHUNK", 50)
    space = geometry.prepare(x, name)
    assert space.distances.dtype == np.float16 and space.neighbours.dtype == np.float16
    assert isinstance(space.distances, chunked.AffineRows) == name.startswith("standardized")
    rows = np.arange(203)[::-1].copy()
    expected = standardized if name.startswith("standardized") else wide
    np.testing.assert_allclose(
        space.distances[rows].astype(np.float64), expected[rows], atol=5e-3 * np.abs(expected).max()
    )
    mean, spread = chunked.moments(space.distances)
    np.testing.assert_allclose(mean, expected.mean(axis=0), atol=2e-2)
    np.testing.assert_allclose(spread, expected.std(axis=0), atol=2e-2)
    point = expected[0]
    np.testing.assert_allclose(
        chunked.distances_to(space.distances, rows, point),
        np.linalg.norm(expected[rows] - point, axis=1),
        rtol=1e-2,
        atol=1e-2,
    )
    searched = NeighborIndex(space.neighbours, device="cpu", metric=space.metric).knn(3)[1]
    assert searched.shape == (203, 3) and (searched >= 0).all()


def test_unit_rows_are_not_copied_for_the_cosine_geometry() -> None:
    x = np.random.default_rng(8).normal(size=(40, 5)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    space = geometry.prepare(x, "cosine")
    assert space.neighbours is x and space.distances is x


def test_auto_geometry_picks_euclidean_where_cosine_cannot_see_the_classes() -> None:
    rng = np.random.default_rng(3)
    direction = rng.normal(size=(300, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    labels = np.repeat([0, 1, 2], 100)
    features = direction * (1 + 3 * labels)[:, None]  # shells: same directions, different radii
    chosen, losses = geometry.choose(features, labels, 3)
    assert chosen in ("euclidean", "standardized-euclidean"), losses
    assert losses["cosine"] > 2 * losses[chosen]


def test_auto_geometry_picks_a_cosine_where_lengths_are_noise() -> None:
    features, labels = _blobs(4, dim=16, spread=0.3)
    features *= np.random.default_rng(5).uniform(0.1, 10, size=(len(features), 1))  # lengths say nothing
    chosen, losses = geometry.choose(features, labels, 3)
    assert chosen.endswith("cosine"), losses


# --- duplicates ----------------------------------------------------------------------------------------


def test_leader_groups_do_not_chain() -> None:
    chain = [(i, i + 1) for i in range(9)]  # 0~1~2~…~9: union-find would make one group of ten
    groups = leader_groups(10, chain)
    assert all(max(g) - min(g) <= 2 for g in groups)  # a leader and its two partners
    assert sorted(v for g in groups for v in g) == sorted(set(v for g in groups for v in g))


def test_the_duplicate_threshold_is_relative_to_the_data() -> None:
    nearest = np.array([1.0, 1.2, 0.9, 1.1, 0.01, 0.01])
    pairs = [(4, 5, 0.01), (0, 2, 0.95)]
    small = find_duplicates(nearest, pairs, 0.25)
    large = find_duplicates(nearest * 1000, [(i, j, d * 1000) for i, j, d in pairs], 0.25)
    assert small.groups == large.groups == [[4, 5]]
    assert small.threshold == pytest.approx(0.25 * np.median(nearest))


# --- through the check path, on several seeds ----------------------------------------------------------

SPEC = """
taxospec: 1
name: scores
classes:
  c0: {hard_negatives: [c1], min_examples: 1}
  c1: {role: negative, min_examples: 1}
  c2: {role: negative, min_examples: 1}
  c3: {role: negative, min_examples: 1}
splits: {values: [train, val]}
balance: {negatives_per_positive: 0}
"""


def _world(seed: int) -> tuple[Any, Any, Any, dict[str, set[int]]]:
    """Four classes in 12 dimensions, 5 % of labels flipped, 4 noise outliers, 4 near-copies in one split
    and 2 across splits."""
    features, labels = _blobs(seed, n=60, classes=4, dim=12, spread=0.7)
    rng = np.random.default_rng(seed + 100)
    n = len(labels)
    given = labels.copy()
    flipped = rng.choice(n, size=12, replace=False)
    given[flipped] = (labels[flipped] + rng.integers(1, 4, size=12)) % 4
    noise = rng.uniform(features.min(0) * 2, features.max(0) * 2, size=(4, features.shape[1]))
    kept = np.setdiff1d(np.arange(n), flipped)
    originals = rng.choice(kept, size=6, replace=False)
    copies = features[originals] + 0.001 * rng.normal(size=(6, features.shape[1]))
    all_features = np.vstack([features, noise, copies])
    all_given = np.concatenate([given, rng.integers(0, 4, size=4), given[originals]])
    splits = np.array(["train"] * len(all_given), dtype=object)
    splits[n + 4 + 4 :] = "val"  # the last two copies land in the other split
    truth = {
        "likely-mislabel": {int(i) + 1 for i in flipped},
        "outlier": set(range(n + 1, n + 5)),
        "near-duplicate": {int(o) + 1 for o in originals[:4]} | set(range(n + 5, n + 9)),
        "duplicate-across-splits": {int(o) + 1 for o in originals[4:]} | set(range(n + 9, n + 11)),
    }
    return all_features, all_given, splits, truth


def _space(features: Any) -> EmbeddingSpace:
    vectors = np.asarray(features, dtype=np.float32)
    return EmbeddingSpace(np.arange(len(vectors)), vectors, "test", features=vectors, search_device="cpu")


def _check(tmp_path: Path, features: Any, given: Any, splits: Any, spec: str = SPEC) -> tuple[Any, Any]:
    tasks = [
        {
            "id": i + 1,
            "data": {"image": f"{i}.png", "split": str(s)},
            "annotations": [
                {
                    "id": i + 1,
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "image",
                            "type": "choices",
                            "value": {"choices": [f"c{int(y)}"]},
                        }
                    ],
                }
            ],
        }
        for i, (y, s) in enumerate(zip(given, splits, strict=True))
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(spec), export)
    space = _space(features)
    context = CheckContext(dataset, space)
    findings, stats = run_checks(dataset, embeddings=space, context=context)
    return build_report(dataset, findings, stats, str(export), context=context), findings


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_defects_are_found_through_the_checks(tmp_path: Path, seed: int, held_in: str) -> None:
    """On several seeds; and with the space held in float16, as a space above `HALF_ABOVE` rows is."""
    features, given, splits, truth = _world(seed)
    report, findings = _check(tmp_path, features, given, splits)
    space = _space(features)
    assert space.vectors.dtype == np.dtype(held_in) and space.features is not None
    assert space.features.dtype == np.dtype(held_in)
    for code, planted in truth.items():
        found = {f.task_id for f in findings if f.code == code} | {
            t for f in findings if f.code == code for t in f.related_tasks
        }
        hits = len(found & planted)
        assert hits >= 0.8 * len(planted) and hits >= 0.8 * len(found), (seed, code, sorted(found), sorted(planted))
    flagged = {e.task_id for e in report.scores.examples if e.mislabel}
    assert flagged == {f.task_id for f in findings if f.code == "likely-mislabel"}
    outliers = {f.task_id for f in findings if f.code == "outlier"}
    assert not outliers & flagged, "an example no class explains is an outlier, not a mislabel"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_data_gets_almost_no_label_flags(tmp_path: Path, seed: int) -> None:
    features, labels = _blobs(seed, n=60, classes=4, dim=12, spread=0.7)
    _, findings = _check(tmp_path, features, labels, ["train"] * len(labels))
    assert sum(f.code == "likely-mislabel" for f in findings) <= 2
    assert not [f for f in findings if f.code in ("near-duplicate", "duplicate-across-splits")]


def test_scores_and_tightness_cover_every_example_and_class(tmp_path: Path) -> None:
    features, given, splits, _ = _world(0)
    report, _ = _check(tmp_path, features, given, splits)
    tables = report.scores
    assert len(tables.examples) == len(given)
    assert {row.class_name for row in tables.tightness} == {"c0", "c1", "c2", "c3"}
    c0 = next(row for row in tables.tightness if row.class_name == "c0")
    assert [m.negative for m in c0.hard_negatives] == ["c1"] and c0.hard_negatives[0].status == "separated"
    assert c0.agreement > c0.agreement_by_chance and c0.status == "tight"
    assert tables.summary.rounds == 3 and 0 < tables.summary.estimated_label_noise < 0.2
    groups = {e.duplicate_group for e in tables.examples if e.duplicate_group is not None}
    assert len(groups) == 6
    json.loads(report.model_dump_json(by_alias=True))  # serializable


def test_check_params_from_the_spec_reach_the_scores(tmp_path: Path) -> None:
    features, given, splits, _ = _world(1)
    spec = SPEC + "checks: {likely-mislabel: {params: {rounds: 1, probe: false}}}\n"
    report, _ = _check(tmp_path, features, given, splits, spec)
    assert report.scores.summary.rounds == 1 and report.scores.summary.probe_penalty is None
    assert report.scores.summary.vote_weight == 1.0


def test_predictions_of_the_teams_model_join_the_evidence(tmp_path: Path) -> None:
    features, given, splits, truth = _world(2)
    true_class = _blobs(2, n=60, classes=4, dim=12, spread=0.7)[1]
    tasks = []
    for i, (y, s) in enumerate(zip(given, splits, strict=True)):
        result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [f"c{int(y)}"]}}]
        task: dict[str, Any] = {
            "id": i + 1,
            "data": {"image": f"{i}.png", "split": str(s)},
            "annotations": [{"id": i + 1, "result": result}],
        }
        if i < len(true_class):  # the team's model says the true class (it knows better than the annotator)
            said = [{**result[0], "value": {"choices": [f"c{int(true_class[i])}"]}}]
            task["predictions"] = [
                {"model_version": "team-v1", "score": 0.95, "result": said},
                {"model_version": "taxospec", "score": 0.1, "result": result},  # its own findings: never evidence
            ]
        tasks.append(task)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(SPEC), export)
    assert len(dataset.predictions) == len(true_class)
    assert {c for c, _ in dataset.predictions.values()} == {0, 1, 2, 3}
    space = _space(features)
    context = CheckContext(dataset, space)
    findings, stats = run_checks(dataset, embeddings=space, context=context)
    report = build_report(dataset, findings, stats, str(export), context=context)
    assert report.scores.summary.predictions_used == len(true_class)
    found = {f.task_id for f in findings if f.code == "likely-mislabel"}
    assert found == truth["likely-mislabel"], (sorted(found), sorted(truth["likely-mislabel"]))


def test_predicted_boxes_are_matched_to_annotated_boxes_by_overlap() -> None:
    from taxospec.plugins.labelstudio.predictions import assign, predicted

    def box(x: float, label: str, score: float | None) -> dict[str, Any]:
        value = {"x": x, "y": 10.0, "width": 20.0, "height": 20.0, "rectanglelabels": [label]}
        return {"from_name": "label", "type": "rectanglelabels", "value": value, **({"score": score} if score else {})}

    given = [
        {
            "model_version": "v2",
            "result": [box(10, "b", 0.8), box(60, "a", 0.7), box(90, "zzz", 0.9), box(40, "a", None)],
        },
        17,  # a bare prediction id (an export without expanded predictions)
        {"model_version": "taxospec", "score": 0.1, "result": [box(10, "a", None)]},
    ]
    found = predicted(given, lambda name, kind: kind == "rectanglelabels", {"a": 0, "b": 1}.get)
    assert sorted(found) == [(0, 0.7, (60.0, 10.0, 20.0, 20.0)), (1, 0.8, (10.0, 10.0, 20.0, 20.0))]
    samples = [(5, (12.0, 11.0, 20.0, 20.0)), (6, (61.0, 10.0, 19.0, 20.0)), (7, (30.0, 60.0, 5.0, 5.0))]
    assert assign(found, samples) == {5: (1, 0.8), 6: (0, 0.7)}


def test_perceptual_hashes_see_copies_and_not_other_pictures() -> None:
    from PIL import Image, ImageEnhance

    from taxospec.scores.perceptual import close_pairs, hash_picture

    from ..conftest import EXAMPLES

    media = EXAMPLES / "synthetic-signals" / "media"
    one = Image.open(media / "img_0001.png").convert("RGB")
    others = [Image.open(media / f"img_{i:04d}.png").convert("RGB") for i in range(2, 12)]
    buffer = io.BytesIO()
    one.save(buffer, "JPEG", quality=70)
    copies = [
        Image.open(io.BytesIO(buffer.getvalue())),
        ImageEnhance.Brightness(one).enhance(1.04),
        one.resize((48, 48)),
    ]
    hashes = [hash_picture(picture) for picture in [one, *copies, *others]]
    pairs = close_pairs(hashes, 16)
    assert {(0, 1), (0, 2), (0, 3)} <= set(pairs)
    assert not [p for p in pairs if p[1] >= 4 and p[0] != p[1] and not ({p[0], p[1]} <= {0, 1, 2, 3})]


def test_with_outlier_off_the_examples_it_would_take_stay_mislabels(tmp_path: Path) -> None:
    features, given, splits, _ = _world(0)
    _, with_outliers = _check(tmp_path, features, given, splits)
    spec = SPEC + "checks: {outlier: {enabled: false}}\n"
    report, findings = _check(tmp_path, features, given, splits, spec)
    taken = {f.task_id for f in with_outliers if f.code == "outlier"}
    mislabels = {f.task_id for f in findings if f.code == "likely-mislabel"}
    before = {f.task_id for f in with_outliers if f.code == "likely-mislabel"}
    assert not [f for f in findings if f.code == "outlier"] and before <= mislabels <= before | taken
    assert mislabels & taken, "some examples the outlier check took are mislabels for the evidence"
    assert {e.task_id for e in report.scores.examples if e.mislabel} == mislabels
