"""Embedding checks on synthetic embeddings with known geometry: each planted defect, and nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taxospec import load_spec_text, read_export
from taxospec.checks.run import run_checks
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.scores.mapped_rows import file_backed

DIM = 32
SPEC = """
taxospec: 1
name: geometry
unit: image
classes:
  timeout: {hard_negatives: [clapping], min_examples: 1, prompts: [a T sign with both hands, a coach calling timeout]}
  clapping: {role: negative, min_examples: 1, prompts: [hands clapping, people applauding]}
  waving: {role: negative, min_examples: 1}
axes:
  lighting:
    values: [day, night]
    prompts: {day: [a photo in daylight], night: [a photo at night]}
coverage: {per_value: {min_share: 0, max_share: 1}}
splits: {values: [train, val]}
balance: {negatives_per_positive: 0}
duplicates: {max_similarity: 0.97}
"""


def _e(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i] = 1.0
    return v


TEXT = {
    "a T sign with both hands": _e(0) + 2 * _e(6),
    "a coach calling timeout": _e(0) - 2 * _e(6),
    "hands clapping": _e(1),
    "people applauding": _e(1) + 0.1 * _e(7),
    "a photo in daylight": _e(10),
    "a photo at night": _e(11),
    "a crowd behind": _e(14),
    "nobody around": _e(15),
}
CENTER = {"timeout": 0, "clapping": 1, "waving": 2}


def encode_text(prompts: list[str]) -> np.ndarray:
    return np.stack([TEXT[p] for p in prompts])


class World:
    """Tasks and their vectors, built example by example with known geometry."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(7)
        self.tasks: list[dict[str, object]] = []
        self.vectors: list[np.ndarray] = []

    def add(
        self,
        label: str,
        lighting: str,
        *,
        vector: np.ndarray | None = None,
        split: str = "train",
        side: float = 0.0,
        crowd: str | None = None,
    ) -> int:
        task_id = len(self.tasks) + 1
        if vector is None:
            vector = 3 * _e(CENTER[label]) + side * _e(6) + 0.35 * self.rng.normal(size=DIM).astype(np.float32)
            vector = vector + 1.2 * _e(10 if lighting == "day" else 11)
        result = [
            {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}},
            {"from_name": "lighting", "to_name": "image", "type": "choices", "value": {"choices": [lighting]}},
        ]
        if crowd is not None:
            result.append({"from_name": "crowd", "to_name": "image", "type": "choices", "value": {"choices": [crowd]}})
        self.tasks.append(
            {
                "id": task_id,
                "data": {"image": f"img/{task_id}.jpg", "split": split},
                "annotations": [{"id": task_id, "result": result}],
            }
        )
        self.vectors.append(vector)
        return task_id


MESSAGES: dict[str, list[str]] = {}
RELATED: dict[str, list[tuple[int | None, list[int]]]] = {}


def _run(world: World, tmp_path: Path, spec_text: str = SPEC, search_device: str = "cpu") -> dict[str, set[int]]:
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    dataset = read_export(load_spec_text(spec_text), export)
    space = EmbeddingSpace(
        np.arange(len(world.vectors)),
        np.stack(world.vectors),
        "test",
        encode_text=encode_text,
        search_device=search_device,
    )
    findings, stats = run_checks(dataset, embeddings=space)
    flagged: dict[str, set[int]] = {}
    MESSAGES.clear()
    RELATED.clear()
    for finding in findings:
        if finding.family == "embeddings":
            MESSAGES.setdefault(finding.code, []).append(finding.message)
            RELATED.setdefault(finding.code, []).append((finding.task_id, finding.related_tasks))
            flagged.setdefault(finding.code, set()).add(finding.task_id or 0)
            assert finding.score is None or 0.0 <= finding.score <= 1.0
    assert not [s for s in stats if s.family == "embeddings" and s.skipped and "unit" not in s.skipped]
    return flagged


def _base(world: World) -> None:
    for i in range(30):
        world.add(
            "timeout", "day" if i % 2 else "night", split="val" if i % 5 == 4 else "train", side=1.5 if i % 2 else -1.5
        )
    for i in range(25):
        world.add("clapping", "day" if i % 2 else "night", split="val" if i % 5 == 4 else "train")
    for i in range(25):
        world.add("waving", "day" if i % 2 else "night", split="val" if i % 5 == 4 else "train")


@pytest.mark.parametrize("search_device", ["cpu", "torch:cpu"], ids=["faiss", "torch-search"])
def test_planted_defects_are_found_and_only_them(tmp_path: Path, search_device: str, held_in: str) -> None:
    """The same findings whether faiss searches or torch does (the search a GPU without faiss-gpu uses),
    and whether the space is held in float32 or, as above `HALF_ABOVE` rows, in float16."""
    world = World()
    _base(world)
    far = world.add("timeout", "day", vector=0.9 * _e(0) + 3 * _e(5) + 1.2 * _e(10))
    mislabeled = world.add("clapping", "night", vector=3 * _e(2) + 1.2 * _e(11) + 0.1 * _e(9))
    confused = [world.add("timeout", "day", vector=3 * _e(1) + 1.2 * _e(10) + 0.8 * _e(8 + i)) for i in range(2)]
    twin = 2.5 * _e(2) + 2 * _e(12) + 1.2 * _e(10)
    dup_a, dup_b = world.add("waving", "day", vector=twin), world.add("waving", "day", vector=twin + 0.01 * _e(3))
    leak = 2.5 * _e(2) + 2 * _e(13) + 1.2 * _e(11)
    leak_a = world.add("waving", "night", vector=leak)
    leak_b = world.add("waving", "night", vector=leak + 0.01 * _e(3), split="val")
    disputed = world.add("waving", "day", vector=3 * _e(2) + 2.5 * _e(11))
    flagged = _run(world, tmp_path, search_device=search_device)
    assert flagged["likely-mislabel"] == {mislabeled, *confused}
    assert flagged["hard-negative-confusion"] == set(confused)
    assert flagged["outlier"] == {far}, "the mislabeled one is explained as a mislabel, not reported as an outlier"
    assert flagged["near-duplicate"] == {dup_a}
    assert MESSAGES["near-duplicate"][0].endswith(f"tasks {dup_a}, {dup_b}")
    assert RELATED["near-duplicate"] == [(dup_a, [dup_b])] and RELATED["duplicate-across-splits"] == [
        (leak_a, [leak_b])
    ]
    assert all(related == [] for _, related in RELATED["likely-mislabel"])
    assert flagged["duplicate-across-splits"] == {leak_a}
    assert MESSAGES["duplicate-across-splits"][0].startswith("2 near-identical examples across splits train, val")
    assert MESSAGES["duplicate-across-splits"][0].endswith(f"tasks {leak_a}, {leak_b}")
    assert flagged["prompt-incoherent"] == {0}, "timeout's two prompts retrieve its two halves"
    assert disputed in flagged["axis-value-disputed"]
    assert "hard-negative-margin" not in flagged and "class-not-cohesive" not in flagged


def test_within_a_check_the_strongest_findings_come_first(tmp_path: Path) -> None:
    world = World()
    _base(world)
    for i in range(4):  # clapping pictures labelled timeout, from barely to clearly
        world.add("timeout", "day", vector=3 * _e(1) + (0.9 * (3 - i)) * _e(0) + 1.2 * _e(10) + 0.8 * _e(20 + i))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    space = EmbeddingSpace(np.arange(len(world.vectors)), np.stack(world.vectors), "t", encode_text=encode_text)
    findings, _ = run_checks(read_export(load_spec_text(SPEC), export), embeddings=space)
    scored = [f for f in findings if f.score is not None]
    assert len({f.code for f in scored}) >= 2
    for code in {f.code for f in scored}:
        scores = [f.score for f in scored if f.code == code]
        assert scores == sorted(scores, reverse=True), code


@pytest.mark.parametrize("embedded", [0, 1, 2, 3, 5])
def test_a_handful_of_vectors_never_breaks_a_check(tmp_path: Path, embedded: int) -> None:
    """When the media of almost every task is missing, the few vectors left are checked or the checks say
    why they skip; none fails (faiss asserts on an empty index)."""
    world = World()
    _base(world)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    dataset = read_export(load_spec_text(SPEC), export)
    vectors = np.stack(world.vectors[:embedded]) if embedded else np.zeros((0, DIM), np.float32)
    space = EmbeddingSpace(np.arange(embedded), vectors, "t", encode_text=encode_text)
    _, stats = run_checks(dataset, embeddings=space)
    ran = {s.code: s for s in stats if s.family == "embeddings" and not s.code.startswith("media-")}
    if embedded < 2:
        reasons = [s.skipped or "" for s in ran.values() if "unit" not in (s.skipped or "")]
        assert reasons and all("too few to compare" in reason for reason in reasons), ran
    else:
        assert any(s.skipped is None for s in ran.values())


def test_outliers_are_calibrated_per_class(tmp_path: Path) -> None:
    """A spread-out class is not flagged for its spread; the same distance in a tight class is."""
    world = World()
    for _ in range(30):
        world.add("timeout", "day", vector=3 * _e(0) + 2.0 * world.rng.normal(size=DIM).astype(np.float32))
    for _ in range(30):
        world.add("clapping", "day", vector=3 * _e(1) + 0.2 * world.rng.normal(size=DIM).astype(np.float32))
    odd = world.add("clapping", "day", vector=1 * _e(1) + 3 * _e(20))
    flagged = _run(world, tmp_path)
    vectors = np.stack(world.vectors) / np.linalg.norm(np.stack(world.vectors), axis=1, keepdims=True)
    typical_spread = 1 - float(np.median(vectors[:30] @ vectors[:30].T))
    odd_distance = 1 - float(np.median(vectors[30:60] @ vectors[odd - 1]))
    assert odd_distance < typical_spread, "the odd one is closer to its class than timeout's members are to theirs"
    assert odd in flagged["outlier"]
    assert not {t for t in flagged["outlier"] if t <= 30}, "the spread class is not flagged for its spread"


def test_hard_negative_margin_and_cohesion(tmp_path: Path) -> None:
    world = World()
    for i in range(30):  # two thirds of timeout sit in clapping's cluster
        world.add(
            "timeout",
            "day",
            vector=3 * _e(0 if i % 3 == 0 else 1) + 0.3 * world.rng.normal(size=DIM).astype(np.float32),
        )
    for _ in range(30):
        world.add("clapping", "day", vector=3 * _e(1) + 0.3 * world.rng.normal(size=DIM).astype(np.float32))
    for _ in range(30):
        world.add("waving", "day", vector=3 * _e(2) + 0.3 * world.rng.normal(size=DIM).astype(np.float32))
    flagged = _run(world, tmp_path)
    assert flagged["hard-negative-margin"] == {0}
    assert "class-not-cohesive" in flagged


def test_without_embeddings_the_checks_say_why(tmp_path: Path) -> None:
    world = World()
    _base(world)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    _, stats = run_checks(read_export(load_spec_text(SPEC), export))
    skipped = {s.code: s.skipped for s in stats if s.family == "embeddings" and not s.code.startswith("media-")}
    assert skipped["segment-ends-loose"] == "the spec's unit has no video frames"
    assert skipped["box-background-action"] == "the spec's unit has no boxes"
    del skipped["segment-ends-loose"], skipped["box-background-action"]
    assert skipped and all(reason and "no embeddings" in reason for reason in skipped.values())


def test_precomputed_embeddings_skip_the_text_checks(tmp_path: Path) -> None:
    world = World()
    _base(world)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    dataset = read_export(load_spec_text(SPEC), export)
    space = EmbeddingSpace(np.arange(len(world.vectors)), np.stack(world.vectors), "precomputed")
    _, stats = run_checks(dataset, embeddings=space)
    skipped = {s.code: s.skipped for s in stats if s.skipped}
    assert "text encoder" in (skipped["prompt-incoherent"] or "")
    assert "outlier" not in skipped


@pytest.mark.parametrize("suffix", [".npz", ".compressed.npz", ".npy", ".parquet", ".fixed.parquet"])
def test_load_precomputed(tmp_path: Path, suffix: str, held_in: str) -> None:
    """Each format, also as a large space reads it (float16; an uncompressed `.npz`'s vectors and a `.npy`
    file's mapped where they lie, a read-only file left untouched)."""
    from taxospec.embeddings.space import load_precomputed
    from taxospec.errors import EmbeddingError

    vectors = np.eye(4, DIM, dtype=np.float32) * 3  # (rows of length 3: scaled to 1 in the space, not in the file)
    path = tmp_path / f"emb{suffix}"
    if suffix.endswith(".npz"):
        save = np.savez_compressed if suffix.startswith(".compressed") else np.savez
        save(path, task_id=np.array([1, 2, 3, 9]), region_id=np.array(["", "r2", "", "x"]), embedding=vectors)
    elif suffix.endswith(".parquet"):
        _parquet(path, [1, 2, 3, 9], ["", "r2", None, "x"], vectors, fixed=suffix.startswith(".fixed"))
    else:
        table = np.zeros(4, dtype=[("task_id", "i8"), ("region_id", "U8"), ("embedding", "f4", (DIM,))])
        table["task_id"], table["region_id"], table["embedding"] = [1, 2, 3, 9], ["", "r2", "", "x"], vectors
        np.save(path, table)
    given = path.read_bytes()
    path.chmod(0o444)
    space = load_precomputed(path, np.array([1, 2, 3, 4]), [None, "r2", "zz", None])
    assert space.samples.tolist() == [0, 1] and space.vectors.shape == (2, DIM)
    assert np.array_equal(space.vectors, vectors[:2] / 3) and path.read_bytes() == given
    every = load_precomputed(path, np.array([1, 2, 3, 9]), ["", "r2", "", "x"])  # every row, in the file's order
    assert np.array_equal(every.vectors, vectors / 3) and every.features is not None
    assert file_backed(every.vectors) == (held_in == "float16")
    assert every.vectors.flags.writeable == (held_in == "float32")  # (a large space's are read-only)
    assert path.read_bytes() == given
    with pytest.raises(EmbeddingError, match="none matches a task and region id"):
        load_precomputed(path, np.array([100]), [None])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EmbeddingError, match="cannot be read as embeddings"):
        load_precomputed(bad, np.array([1]), [None])


def _parquet(path: Path, tasks: list[int], regions: list[str | None], rows: Any, fixed: bool = False) -> None:
    """A parquet file of embeddings as a team would write one: a list column (or a fixed-size one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fixed:
        column = pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(rows).ravel()), np.asarray(rows).shape[1])
    else:
        column = pa.array([None if r is None else list(r) for r in rows], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"task_id": tasks, "region_id": regions, "embedding": column}), path)


def test_precomputed_vectors_keep_their_directions_at_any_scale(tmp_path: Path, held_in: str) -> None:
    """Rows of 1e30 or 1e-40 (float32 squares overflow or vanish) give the same unit vectors as rows of 1,
    also in a space held in float16 (whose largest number is 65,504)."""
    from taxospec.embeddings.space import load_precomputed

    rng = np.random.default_rng(3)
    rows = rng.normal(size=(6, DIM)).astype(np.float32)
    ids = np.arange(1, 7)
    spaces = []
    for scale in (1.0, 1e30, 1e-40):
        path = tmp_path / f"scaled{len(spaces)}.npz"
        np.savez(path, task_id=ids, region_id=np.array([""] * 6), embedding=(rows * np.float32(scale)))
        spaces.append(load_precomputed(path, ids, [None] * 6))
    expected = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    for space in spaces:
        assert space.samples.tolist() == list(range(6)) and space.vectors.dtype == np.dtype(held_in)
        assert file_backed(space.vectors) == file_backed(space.features) == (held_in == "float16")
        assert np.allclose(space.vectors, expected, atol=1e-5 if held_in == "float32" else 2e-3)
        assert space.features is not None and np.isfinite(space.features).all() and np.abs(space.features).max() == 1


def test_a_large_space_given_features_beyond_float16_keeps_them_finite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Features handed to a space held in float16 (whose largest number is 65,504) are brought to one
    scale first: finite, in the same proportions."""
    from taxospec.scores import chunked

    monkeypatch.setattr(chunked, "HALF_ABOVE", 0)
    rows = np.random.default_rng(4).normal(size=(20, DIM)) * 1e6
    space = EmbeddingSpace(np.arange(20), rows, "test", features=rows)
    assert space.features is not None and space.features.dtype == np.float16
    assert np.isfinite(space.features).all() and np.abs(space.features).max() == 1
    np.testing.assert_allclose(space.features.astype(np.float64), rows / np.abs(rows).max(), atol=1e-3)


def test_precomputed_unit_rows_are_one_array_and_find_what_the_same_rows_scaled_find(
    tmp_path: Path, held_in: str
) -> None:
    """Unit rows (CLIP's, normalized by the team) serve as vectors and features at once (no second copy);
    the findings are those of the same directions at another length, kept as features beside them. A
    large space (float16: given in float16, as the cache stores them) holds both in float16."""
    from taxospec.embeddings.space import load_precomputed

    world = World()
    _base(world)
    world.add("timeout", "day", vector=0.9 * _e(0) + 3 * _e(5) + 1.2 * _e(10))  # an outlier
    world.add("clapping", "night", vector=3 * _e(2) + 1.2 * _e(11) + 0.1 * _e(9))  # a mislabel
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    dataset = read_export(load_spec_text(SPEC), export)
    unit = np.stack(world.vectors) / np.linalg.norm(np.stack(world.vectors), axis=1, keepdims=True)
    ids = np.arange(1, len(unit) + 1)
    found = []
    for name, rows in (("unit", unit), ("scaled", 3.0 * unit)):
        given = rows.astype(held_in)
        np.savez(tmp_path / f"{name}.npz", task_id=ids, region_id=np.array([""] * len(ids)), embedding=given)
        space = load_precomputed(tmp_path / f"{name}.npz", ids, [None] * len(ids))
        assert (space.features is None) == (name == "unit")
        assert space.vectors.dtype == np.dtype(held_in)
        assert space.features is None or space.features.dtype == np.dtype(held_in)
        assert file_backed(space.vectors) == (held_in == "float16")  # (unit rows: mapped where they lie in the file)
        findings, _ = run_checks(dataset, embeddings=space, select={"likely-mislabel", "outlier", "near-duplicate"})
        found.append(sorted((f.code, f.task_id) for f in findings))
    assert found[0] == found[1] and {code for code, _ in found[0]} >= {"likely-mislabel", "outlier"}


def test_a_file_of_repeated_rows_is_noted(tmp_path: Path) -> None:
    """Embeddings with fewer distinct directions than half their rows (one row repeated, a wrong column)
    get a note that the neighbour-based findings mean nothing; distinct rows, or rows equal up to scale
    and a few repeats, do not."""
    from taxospec.embeddings.space import distinct_directions, load_precomputed

    rng = np.random.default_rng(4)
    rows = rng.normal(size=(40, DIM)).astype(np.float32)
    assert distinct_directions(rows) == 40
    assert distinct_directions(np.vstack([rows[:5]] * 8) * 3) == 5
    ids = np.arange(1, 41)
    for embedding, noted in (
        (rows, False),
        (np.vstack([rows[:30], rows[:10]]), False),
        (np.tile(rows[:1], (40, 1)), True),
    ):
        path = tmp_path / f"rows{noted}.npz"
        np.savez(path, task_id=ids, region_id=np.array([""] * 40), embedding=embedding)
        notes = load_precomputed(path, ids, [None] * 40).notes
        assert any("only 1 distinct embedding(s) among 40" in n for n in notes) == noted, notes


def test_precomputed_parquet_files_that_cannot_be_used_say_why(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from taxospec.embeddings.space import load_precomputed
    from taxospec.errors import EmbeddingError

    ids, regions = [1, 2, 3], ["", "", ""]
    rows = np.eye(3, DIM, dtype=np.float32).tolist()
    refused: dict[str, Path] = {}
    for why, embedding in (
        ("embeddings have different lengths", [rows[0], rows[1][:5], rows[2]]),
        ("1 row\\(s\\) have no embedding", [rows[0], None, rows[2]]),
        ("NaN or infinite", [rows[0], [None] * DIM, rows[2]]),
    ):
        refused[why] = tmp_path / f"{len(refused)}.parquet"
        _parquet(refused[why], ids, regions, embedding)
    for why, table in (
        (
            "must hold a list of numbers per row, not double",
            {"task_id": ids, "region_id": regions, "embedding": [1.0] * 3},
        ),
        ("must hold numbers, not string", {"task_id": ids, "region_id": regions, "embedding": [["a"]] * 3}),
        ("missing: region_id", {"task_id": ids, "embedding": rows}),
    ):
        refused[why] = tmp_path / f"{len(refused)}.parquet"
        pq.write_table(pa.table(table), refused[why])  # type: ignore[arg-type]
    refused["cannot be read as embeddings"] = tmp_path / "cut.parquet"
    whole = (tmp_path / "0.parquet").read_bytes()
    refused["cannot be read as embeddings"].write_bytes(whole[: len(whole) // 2])
    for why, path in refused.items():
        with pytest.raises(EmbeddingError, match=why):
            load_precomputed(path, np.array(ids), [None, None, None])


def test_precomputed_files_that_cannot_be_used_say_why_and_usable_ones_say_what_was_left_out(tmp_path: Path) -> None:
    from taxospec.embeddings.space import load_precomputed
    from taxospec.errors import EmbeddingError

    ids, regions = np.array([1, 2, 3]), np.array(["", "", ""])
    rows = np.eye(3, DIM, dtype=np.float32)

    def saved(name: str, **arrays: object) -> Path:
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays)  # type: ignore[arg-type]
        return path

    refused = {
        "one entry per example; they have 3, 3 and 2": saved(
            "short", task_id=ids, region_id=regions, embedding=rows[:2]
        ),
        "must be a 2-D matrix": saved("cube", task_id=ids, region_id=regions, embedding=rows.reshape(3, 2, -1)),
        "NaN or infinite": saved("nan", task_id=ids, region_id=regions, embedding=np.full((3, DIM), np.nan)),
        "task_id must hold task ids": saved(
            "names", task_id=np.array(["a", "b", "c"]), region_id=regions, embedding=rows
        ),
        "all 3 that match are all zeros": saved("zeros", task_id=ids, region_id=regions, embedding=0 * rows),
    }
    for why, path in refused.items():
        with pytest.raises(EmbeddingError, match=why):
            load_precomputed(path, ids, [None, None, None])
    partly = rows.copy()
    partly[1] = 0
    twice = saved(
        "twice", task_id=np.array([1, 2, 3, 3]), region_id=np.array([""] * 4), embedding=np.vstack([partly, rows[:1]])
    )
    space = load_precomputed(twice, ids, [None, None, None])
    notes = space.notes
    assert space.samples.tolist() == [0, 2] and np.allclose(space.vectors[1], rows[0])
    assert any("1 (task, region) key(s) given twice" in n for n in notes)
    assert any("1 embedding(s) are all zeros and were left out" in n for n in notes)


def _waving_only_in_daylight(tmp_path: Path) -> tuple[Path, EmbeddingSpace]:
    """An export and its space where every waving example is a daylight picture (a scenario never reached)."""
    world = World()
    for i in range(20):
        world.add("timeout", "day" if i % 2 else "night")
    for _ in range(20):
        world.add(
            "waving", "day", vector=3 * _e(2) + 1.2 * _e(10) + 0.3 * world.rng.normal(size=DIM).astype(np.float32)
        )
    for i in range(20):
        world.add("clapping", "day" if i % 2 else "night")
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    return export, EmbeddingSpace(np.arange(len(world.vectors)), np.stack(world.vectors), "t", encode_text=encode_text)


def test_scenario_gap_when_no_example_looks_like_a_value(tmp_path: Path) -> None:
    export, space = _waving_only_in_daylight(tmp_path)
    dataset = read_export(load_spec_text(SPEC), export)
    findings, _ = run_checks(dataset, embeddings=space, select={"scenario-gap"})
    assert [(f.class_name, f.axis, f.value) for f in findings] == [("waving", "lighting", "night")]


def test_scenario_gap_in_a_combination_cell_reaches_the_todo_list(tmp_path: Path) -> None:
    """Night pictures and crowd pictures of timeout exist, night crowds do not (though two are tagged so):
    the cell is a scenario gap, and the to-do list asks for the combination's `min` of it."""
    from taxospec import check

    lighting_prompts = "    prompts: {day: [a photo in daylight], night: [a photo at night]}\n"
    crowd_axis = "  crowd:\n    values: [none, crowd]\n    prompts: {none: [nobody around], crowd: [a crowd behind]}\n"
    cells = "combinations: [{axes: [lighting, crowd], min: 2, classes: [timeout, clapping]}]"
    spec = load_spec_text(
        SPEC.replace(lighting_prompts, lighting_prompts + crowd_axis).replace(
            "max_share: 1}}", f"max_share: 1}}, {cells}}}"
        )
    )
    world = World()
    noise = lambda: 0.3 * world.rng.normal(size=DIM).astype(np.float32)  # noqa: E731
    light = {"day": _e(10), "night": _e(11)}
    people = {"none": _e(15), "crowd": _e(14)}
    for lighting, crowd in (("day", "none"), ("day", "crowd"), ("night", "none")):
        for i in range(8):
            tagged = "crowd" if (lighting, i) in (("night", 0), ("night", 1)) else crowd  # tagged, not seen
            world.add("timeout", lighting, crowd=tagged, vector=3 * _e(0) + light[lighting] + people[crowd] + noise())
    for lighting in ("day", "night"):
        for crowd in ("none", "crowd"):
            for _ in range(6):
                world.add(
                    "clapping", lighting, crowd=crowd, vector=3 * _e(1) + light[lighting] + people[crowd] + noise()
                )
    for lighting, crowd in (("day", "none"), ("night", "crowd")) * 3:  # not in the combination: values suffice
        world.add("waving", lighting, crowd=crowd, vector=3 * _e(2) + light[lighting] + people[crowd] + noise())
    export = tmp_path / "export.json"
    export.write_text(json.dumps(world.tasks))
    space = EmbeddingSpace(np.arange(len(world.vectors)), np.stack(world.vectors), "t", encode_text=encode_text)
    findings, _ = run_checks(read_export(spec, export), embeddings=space, select={"scenario-gap"})
    assert [(f.class_name, f.axis, f.value) for f in findings] == [("timeout", "lighting × crowd", "night × crowd")]
    assert findings[0].message.startswith("no 'timeout' example looks like lighting=night, crowd=crowd")
    report = check(spec, export, embeddings=space)
    assert not [f for f in report.findings if f.code == "combination-cell-below-quota"], "the tags say it is there"
    [item] = [i for i in report.todo if i.kind == "scenario"]
    assert (item.class_name, item.conditions, item.need) == ("timeout", {"lighting": "night", "crowd": "crowd"}, 2)
    assert "no example looks like it" in item.instruction


def test_cell_conditions_read_back_what_findings_name() -> None:
    from taxospec.findings import cell_conditions

    assert cell_conditions("lighting", "night × rain") == {"lighting": "night × rain"}, "a value may hold the joiner"
    assert cell_conditions("lighting × crowd", "night × crowd") == {"lighting": "night", "crowd": "crowd"}
    assert cell_conditions("lighting × crowd", "night") == {} and cell_conditions(None, "x") == {}


VIDEO_SPEC = """
taxospec: 1
name: video-geometry
media: video
unit: segment
classes:
  timeout: {hard_negatives: [clapping], min_examples: 1, prompts: [a, b]}
  clapping: {role: negative, min_examples: 1}
labelstudio: {frame_rate: 10}
embedding: {frames_per_segment: 5}
"""


def test_segment_ends_loose_suggests_tighter_bounds(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    tasks, frame_vectors = [], {}
    for i in range(12):
        label = "timeout" if i < 8 else "clapping"
        region = {
            "id": f"s{i}",
            "from_name": "label",
            "to_name": "video",
            "type": "timelinelabels",
            "value": {"ranges": [{"start": 1, "end": 20}], "timelinelabels": [label]},
        }
        tasks.append({"id": i + 1, "data": {"video": f"v{i}.mp4"}, "annotations": [{"id": i + 1, "result": [region]}]})
        frames = np.stack([3 * _e(CENTER[label]) + 0.3 * rng.normal(size=DIM) for _ in range(5)]).astype(np.float32)
        if i == 3:  # the run-up: the first two frames show something else
            frames[:2] = np.stack([3 * _e(30) + 0.3 * rng.normal(size=DIM) for _ in range(2)])
        frame_vectors[i] = frames / np.linalg.norm(frames, axis=1, keepdims=True)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(VIDEO_SPEC), export)
    vectors = np.stack([frame_vectors[i].mean(axis=0) for i in range(12)])
    space = EmbeddingSpace(np.arange(12), vectors, "t", frame_vectors=frame_vectors)
    findings, _ = run_checks(dataset, embeddings=space, select={"segment-ends-loose"})
    assert [(f.task_id, f.message) for f in findings] == [
        (4, "the first 2 of 5 frames (0.05–1.00 s) look unlike 'timeout'; tighter bounds: 1.00–1.95 s")
    ]


BOX_SPEC = """
taxospec: 1
name: box-geometry
unit: box
classes:
  dent: {hard_negatives: [dust], min_examples: 1, prompts: [a, b]}
  dust: {role: negative, min_examples: 1}
"""


def test_box_framing_background_is_found(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    tasks, crops, context = [], [], {}
    for i in range(16):
        label = "dent" if i < 10 else "dust"
        box = {
            "id": f"b{i}",
            "from_name": "label",
            "to_name": "image",
            "type": "rectanglelabels",
            "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": [label]},
        }
        tasks.append({"id": i + 1, "data": {"image": f"{i}.png"}, "annotations": [{"id": i + 1, "result": [box]}]})
        crop = 3 * _e(CENTER["timeout" if label == "dent" else "clapping"]) + 0.3 * rng.normal(size=DIM)
        if i == 6:  # the box frames the casing, not the dent
            crop = 3 * _e(25) + 0.3 * rng.normal(size=DIM)
        crops.append(crop)
        whole = 3 * _e(15) + 1.5 * _e(CENTER["timeout" if label == "dent" else "clapping"]) + 0.3 * rng.normal(size=DIM)
        context[i] = (whole / np.linalg.norm(whole)).astype(np.float32)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(BOX_SPEC), export)
    space = EmbeddingSpace(np.arange(16), np.stack(crops), "t", context_vectors=context)
    findings, _ = run_checks(dataset, embeddings=space, select={"box-background-action"})
    assert [f.task_id for f in findings] == [7]


def test_scenario_gaps_become_todo_items(tmp_path: Path) -> None:
    from taxospec import check

    export, space = _waving_only_in_daylight(tmp_path)
    report = check(load_spec_text(SPEC), export, embeddings=space)
    scenario = [i for i in report.todo if i.kind == "scenario"]
    assert [(i.class_name, i.conditions, i.have, i.status) for i in scenario] == [
        ("waving", {"lighting": "night"}, 0, "missing")
    ]
    assert scenario[0].instruction.startswith("Photograph")
    assert "no example looks like it" in scenario[0].instruction
    # `taxospec todo` (the collection team's command) lists them too, given the embeddings; not without
    from taxospec.api import todo as collection_todo

    listed = collection_todo(load_spec_text(SPEC), export, embeddings=space)
    assert [i.model_dump() for i in listed.items] == [i.model_dump() for i in report.todo]
    assert not [i for i in collection_todo(load_spec_text(SPEC), export).items if i.kind == "scenario"]


def test_near_identical_frames_of_one_video(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    tasks, vectors = [], []
    for i in range(10):
        regions = []
        for j in range(2):
            regions.append(
                {
                    "id": f"s{i}-{j}",
                    "from_name": "label",
                    "to_name": "video",
                    "type": "timelinelabels",
                    "value": {"ranges": [{"start": 1 + 30 * j, "end": 20 + 30 * j}], "timelinelabels": ["timeout"]},
                }
            )
            base = 3 * _e(0) + 0.4 * rng.normal(size=DIM)
            vectors.append(
                base if not (i == 4 and j == 1) else vectors[-1] + 0.001 * _e(1)
            )  # task 5: the same look twice
        tasks.append({"id": i + 1, "data": {"video": f"v{i}.mp4"}, "annotations": [{"id": i + 1, "result": regions}]})
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(VIDEO_SPEC), export)
    space = EmbeddingSpace(np.arange(20), np.stack(vectors), "t")
    findings, _ = run_checks(dataset, embeddings=space, select={"near-identical-frames", "near-duplicate"})
    assert [(f.code, f.task_id) for f in findings] == [("near-identical-frames", 5)]


def test_positive_unreached_by_its_prompts(tmp_path: Path) -> None:
    world = World()
    for i in range(20):
        side = 1.5 if i % 2 else -1.5  # the two halves the two timeout prompts point at
        world.add("timeout", "day", side=side)
    odd = world.add("timeout", "day", vector=-1 * _e(0) + 3 * _e(22))  # points away from both prompts
    for _ in range(40):
        world.add("clapping", "day")
    for _ in range(40):
        world.add("waving", "day")
    flagged = _run(world, tmp_path)
    assert odd in flagged.get("positive-unreached", set())
    assert not {t for t in flagged.get("positive-unreached", set()) if t > 21}, "only positives"


def test_vectors_that_are_not_a_matrix_are_an_embedding_error() -> None:
    """Float32 rows of one value each (a 1-D array) are refused with a message, not a numpy error."""
    from taxospec.errors import EmbeddingError

    with pytest.raises(EmbeddingError, match="must be a 2-D matrix"):
        EmbeddingSpace(np.arange(3), np.ones(3, dtype=np.float32), "flat")


def test_a_large_space_is_memory_mapped_from_a_file_that_is_gone_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above `MAP_ABOVE` rows the vectors and features live in a read-only memory-mapped temporary file
    with no name (nothing is left in the temporary folder); a folder that cannot take them keeps them in
    memory, with a note saying why."""
    from taxospec.scores import chunked, mapped_rows

    monkeypatch.setattr(chunked, "HALF_ABOVE", 0)
    monkeypatch.setattr(chunked, "CHUNK", 7)
    monkeypatch.setattr(mapped_rows, "MAP_ABOVE", 10)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rows = np.random.default_rng(5).normal(size=(30, DIM)).astype(np.float32)
    space = EmbeddingSpace(np.arange(30), rows, "test", features=rows)
    assert file_backed(space.vectors) and file_backed(space.features)
    assert not space.vectors.flags.writeable and list(tmp_path.iterdir()) == [] and not space.notes
    np.testing.assert_allclose(space.vectors, rows / np.linalg.norm(rows, axis=1, keepdims=True), atol=2e-3)
    np.testing.assert_allclose(space.features.astype(np.float64), rows / np.abs(rows).max(), atol=1e-3)
    small = EmbeddingSpace(np.arange(10), rows[:10], "test")
    assert not file_backed(small.vectors)

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    kept = EmbeddingSpace(np.arange(30), rows, "test", features=rows)
    assert not file_backed(kept.vectors) and not file_backed(kept.features)
    assert len(kept.notes) == 1 and "kept in memory" in kept.notes[0] and str(tmp_path / "missing") in kept.notes[0]
    np.testing.assert_array_equal(kept.vectors, space.vectors)


def test_a_temporary_folder_without_room_keeps_the_rows_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapped matrix's blocks are reserved when it is made: no room is an ordinary matrix in memory,
    never a crash (SIGBUS) when a page of a sparse file cannot be written."""
    import errno

    from taxospec.scores import mapped_rows

    monkeypatch.setattr(mapped_rows, "MAP_ABOVE", 2)
    assert file_backed(mapped_rows.empty((5, 3), np.float16))

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mapped_rows.os, "posix_fallocate", full)
    kept = mapped_rows.empty((5, 3), np.float16)
    assert not file_backed(kept) and kept.shape == (5, 3) and kept.dtype == np.float16


def test_an_npz_whose_header_claims_more_rows_than_it_holds_is_not_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mapped where it lies, such a member would be read on into the archive's next member (np.load finds
    a bad CRC): it is a damaged file, said as one."""
    from taxospec.embeddings.space import load_precomputed
    from taxospec.errors import EmbeddingError
    from taxospec.scores import mapped_rows

    monkeypatch.setattr(mapped_rows, "MAP_ABOVE", 2)
    path = tmp_path / "claims.npz"
    ids = np.arange(8)
    np.savez(path, embedding=np.eye(8, DIM, dtype=np.float16), task_id=ids, region_id=np.array([""] * 8))
    assert file_backed(load_precomputed(path, ids, [None] * 8).vectors)
    raw = path.read_bytes()
    header = f"'shape': (8, {DIM})".encode()
    path.write_bytes(raw.replace(header, f"'shape': (9, {DIM})".encode().ljust(len(header)), 1))
    with pytest.raises(EmbeddingError, match="needs more bytes than the archive holds"):
        load_precomputed(path, ids, [None] * 8)
