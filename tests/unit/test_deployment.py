"""Deployment coverage on synthetic embeddings of known geometry, over several seeds: pictures like the
labeled data are covered, a scenario it lacks is found whole, the shift score tells a shifted sample from
a like one; the spec section, the sample listing, the picture-quality comparison and the label-next
ranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from taxospec.deployment.coverage import auc, measure_coverage
from taxospec.deployment.describe import ZeroShot, in_words
from taxospec.deployment.embed import UnlabeledSpace
from taxospec.deployment.pool import PoolView, rank_pool
from taxospec.deployment.quality_shift import quality_shifts
from taxospec.deployment.sources import folder_media, spaced, with_folders
from taxospec.embeddings.index import NeighborIndex
from taxospec.errors import OptionError, SpecError
from taxospec.scores.mapped_rows import mapped
from taxospec.scores.picture_quality import PictureProperties
from taxospec.spec import load_spec_text
from taxospec.todo import TodoItem

DIM = 32


def _index(labeled: np.ndarray) -> NeighborIndex:
    return NeighborIndex(labeled, device="cpu")


def _cluster(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float = 0.15) -> np.ndarray:
    points = centre + rng.normal(0, spread / np.sqrt(DIM), size=(n, DIM))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def _world(seed: int) -> tuple[np.ndarray, list[str | None], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    centres = {name: rng.normal(size=DIM) for name in ("a", "b", "new")}
    centres = {k: v / np.linalg.norm(v) for k, v in centres.items()}
    labeled = np.vstack([_cluster(rng, centres["a"], 80), _cluster(rng, centres["b"], 80)])
    labels: list[str | None] = ["a"] * 80 + ["b"] * 80
    return labeled, labels, {"rng": rng, **centres}  # type: ignore[dict-item]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_pictures_like_the_data_are_covered_and_a_missing_scenario_is_found_whole(seed: int) -> None:
    labeled, labels, world = _world(seed)
    rng = world["rng"]
    like = np.vstack([_cluster(rng, world["a"], 40), _cluster(rng, world["b"], 40)])  # type: ignore[arg-type]
    new = _cluster(rng, world["new"], 30)  # type: ignore[arg-type]
    deployment = np.vstack([like, new])
    found = measure_coverage(_index(labeled), labels, deployment, ["cam"] * len(deployment), ZeroShot({}, None), 1.5, 3)
    assert found.covered[:80].mean() >= 0.9
    assert not found.covered[80:].any()
    assert len(found.scenarios) >= 1 and set(found.scenarios[0].rows.tolist()) >= set(range(80, 80 + 27))
    assert all(int(r) >= 80 for s in found.scenarios for r in s.rows), "a scenario holds only uncovered pictures"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_shift_score_tells_a_shifted_sample_from_a_like_one(seed: int, held_in: str) -> None:
    """Also with the labeled space as a large one holds it (float16, memory-mapped: only the probe's rows
    of it are read)."""
    labeled, labels, world = _world(seed)
    labeled = mapped(labeled.astype(held_in))[0]
    rng = world["rng"]
    like = np.vstack([_cluster(rng, world["a"], 60), _cluster(rng, world["b"], 60)])  # type: ignore[arg-type]
    shifted = _cluster(rng, world["new"], 120)  # type: ignore[arg-type]
    deployment = np.vstack([like, shifted])
    samples = ["like"] * 120 + ["shifted"] * 120
    found = measure_coverage(_index(labeled), labels, deployment, samples, ZeroShot({}, None), 1.5, 3)
    assert found.shift_auc["like"] is not None and found.shift_auc["like"] < 0.7
    assert found.shift_auc["shifted"] is not None and found.shift_auc["shifted"] > 0.95


def test_scenarios_are_found_within_one_sample() -> None:
    labeled, labels, world = _world(7)
    rng = world["rng"]
    new = _cluster(rng, world["new"], 20)  # type: ignore[arg-type]
    samples = ["cam-1"] * 10 + ["cam-2"] * 10
    found = measure_coverage(_index(labeled), labels, new, samples, ZeroShot({}, None), 1.5, 3)
    assert len(found.scenarios) == 2
    assert {frozenset(samples[int(r)] for r in s.rows) for s in found.scenarios} == {
        frozenset({"cam-1"}),
        frozenset({"cam-2"}),
    }


def test_auc_counts_ties_half_and_orders_by_score() -> None:
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert auc(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0, 1, 0, 1])) == pytest.approx(0.5)
    assert auc(np.array([0.2, 0.5, 0.5, 0.9]), np.array([0, 0, 1, 1])) == pytest.approx(0.875)


def test_a_group_is_described_by_the_values_most_of_it_shows() -> None:
    guesses = ZeroShot(
        {"lighting": ["night", "night", "day", "night"], "distance": ["far", "close", "medium", "far"]}, None
    )
    described = guesses.describe(np.arange(4))
    assert described == {"lighting": ("night", 0.75), "distance": ("far", 0.5)}
    assert in_words(described) == "mostly night (75%), far (50%)"
    assert in_words({}) == "no one condition stands out"


SPEC = "taxospec: 1\nname: d\nclasses: {a: {}}\n"


def test_the_deployment_section_is_validated() -> None:
    spec = load_spec_text(SPEC + "deployment: {samples: [{name: cam, path: frames/}]}\n")
    assert spec.deployment is not None and spec.deployment.fence == 1.5
    for bad, said in [
        ("deployment: {samples: [{name: cam, path: a, export: b.json}]}", "exactly one of `path`"),
        ("deployment: {samples: [{name: cam}]}", "exactly one of `path`"),
        ("deployment: {samples: []}", "lists no sample"),
        ("deployment: {samples: [{name: x, path: a}, {name: x, path: b}]}", "distinct names: x"),
        ("deployment: {samples: [{name: 'a b', path: a}]}", "deployment.samples[0].name"),
        ("deployment: {samples: [{name: x, path: a, url: 'http://ls'}]}", "`url` goes with `project`"),
        ("deployment: {samples: [{name: x, project: 3, url: 'ftp://ls'}]}", "deployment.samples[0].url"),
    ]:
        with pytest.raises(SpecError, match=None) as raised:
            load_spec_text(SPEC + bad + "\n")
        assert said in str(raised.value), (bad, str(raised.value))


def test_a_folder_sample_lists_its_pictures_only(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.jpg", "a.PNG", "sub/c.webp", "notes.txt", "sub/clip.mp4"):
        (folder / name).write_bytes(b"x")
    found = folder_media("cam", "frames", tmp_path, 10)
    assert found.uris == ["a.PNG", "b.jpg", "sub/c.webp"] and found.listed == 3 and not found.tasks
    assert folder_media("cam", "frames/sub/*.webp", tmp_path, 10).uris == ["c.webp"]
    assert len(folder_media("cam", "frames", tmp_path, 2).uris) == 2
    with pytest.raises(OptionError, match="is not a folder"):
        folder_media("cam", "missing", tmp_path, 10)
    (tmp_path / "empty").mkdir()
    with pytest.raises(OptionError, match="no picture"):
        folder_media("cam", "empty", tmp_path, 10)


def test_a_project_sample_needs_its_label_studio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from taxospec.deployment.sources import samples_of

    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    spec = load_spec_text(SPEC + "deployment: {samples: [{name: live, project: 3}]}\n")
    assert spec.deployment is not None

    def never(*args: object) -> Path:
        raise AssertionError("nothing is pulled without a URL")

    with pytest.raises(OptionError, match="give its `url` \\(or set LABEL_STUDIO_URL\\)"):
        samples_of(spec.deployment, tmp_path, None, never, never)


def test_folders_given_on_the_command_line_become_named_samples() -> None:
    settings = with_folders(None, ["/data/gate 1/", "/other/gate 1", "/x/ünïcode"])
    assert settings is not None
    assert [s.name for s in settings.samples] == ["gate-1", "gate-1-2", "n-code"]
    assert with_folders(None, []) is None
    assert spaced(list(range(10)), 3) == [0, 3, 6]


def _props(dark: float, n: int) -> list[PictureProperties]:
    return [PictureProperties(640, 480, dark + 0.01 * (i % 5), 0.05, 0.4, 6.0, False, 90.0, 2.0) for i in range(n)]


def test_a_darker_deployment_camera_is_reported_and_a_like_one_is_not() -> None:
    labeled = _props(0.8, 40)
    dark = _props(0.35, 20)
    like = _props(0.8, 20)
    space = UnlabeledSpace(
        np.zeros((40, 2), dtype=np.float32),
        ["dark"] * 20 + ["like"] * 20,
        [f"{i}.jpg" for i in range(40)],
        [None] * 40,
        {i: p for i, p in enumerate(dark + like)},
        media={"dark": None, "like": None},  # type: ignore[dict-item]
    )
    evaluated, shifts = quality_shifts(space, labeled)
    assert evaluated == 12
    assert [(name, "darker" in message) for name, message, _ in shifts] == [("dark", True)]


def _item(rank: int, cls: str, conditions: dict[str, str], missing: int, status: str = "missing") -> TodoItem:
    return TodoItem(
        rank=rank,
        kind="combination",
        class_name=cls,
        role="positive",
        split=None,
        conditions=conditions,
        have=0,
        need=missing,
        missing=missing,
        status=status,
        instruction="",
    )


def test_the_pool_is_ranked_by_what_each_picture_fills_and_near_copies_are_skipped() -> None:
    spec = load_spec_text(SPEC + "axes: {lighting: {values: [day, night]}}\n")
    items = [_item(1, "a", {"lighting": "night"}, 2), _item(2, "a", {}, 1, "under quota")]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    vectors[1] = vectors[0]  # a near copy of the first night picture
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    guesses = ZeroShot({"lighting": ["night", "night", "day", "night", "day"]}, ["a", "a", "a", "a", None])
    pool = PoolView(vectors, [f"p{i}" for i in range(5)], [None] * 5, guesses, list(guesses.classes or []), {})
    picks = rank_pool(spec, items, pool, 10, duplicate_distance=0.01)
    assert [p.media for p in picks][:2] == ["p0", "p3"]  # the night ones first, the copy of p0 skipped
    assert "p1" not in [p.media for p in picks] and "p4" not in [p.media for p in picks]
    assert picks[0].fills == [1, 2] and picks[0].gain == pytest.approx(3.0)


def test_the_label_next_tab_names_the_picks_and_scores_them_by_rank() -> None:
    from taxospec.plugins.labelstudio.label_next import BY_ID_UP_TO, MODEL_VERSION, rank_score, tab_filters
    from taxospec.todo import PoolPick

    named = tab_filters([7, 3])
    assert named["conjunction"] == "or" and [i["value"] for i in named["items"]] == [7, 3]
    many = tab_filters(list(range(BY_ID_UP_TO + 1)))
    assert many["items"][0]["value"] == [MODEL_VERSION] and many["conjunction"] == "and"
    picks = [
        PoolPick(rank=r, media="x", task_id=r, gain=1.0, fills=[], looks_like=None, conditions={}) for r in (1, 2, 4)
    ]
    assert [rank_score(p, 4) for p in picks] == [1.0, 0.75, 0.25]


def test_a_look_alike_negative_near_the_positives_is_picked_first() -> None:
    from taxospec.deployment.pool import closeness_to

    spec = load_spec_text("taxospec: 1\nname: d\nclasses: {a: {hard_negatives: [b]}, b: {role: negative}}\n")
    item = _item(1, "b", {}, 1).model_copy(update={"kind": "hard-negative", "look_alike_of": ["a"]})
    labeled = np.eye(8, dtype=np.float32)[:3]  # three examples of `a` along the first axes
    pool_vectors = np.zeros((3, 8), dtype=np.float32)
    pool_vectors[0, 7] = 1.0  # far from every `a`
    pool_vectors[1, [0, 7]] = [0.9, 0.436]  # near the first `a`
    pool_vectors[2, [0, 6]] = [0.5, 0.866]  # in between
    near = closeness_to(labeled, ["a", "a", "a"], pool_vectors, {"a"})
    assert near["a"].tolist() == [0.0, 1.0, 0.5]
    guesses = ZeroShot({}, ["b", "b", "b"])
    pool = PoolView(pool_vectors, ["far", "near", "middle"], [None] * 3, guesses, ["b", "b", "b"], {}, near)
    picks = rank_pool(spec, [item], pool, 3, duplicate_distance=0.0)
    assert [p.media for p in picks] == ["near"] and picks[0].gain == pytest.approx(2.0)
