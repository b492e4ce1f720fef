from __future__ import annotations

import re
from pathlib import Path

import pytest

from taxospec import Spec, SpecError, load_spec, load_spec_text
from taxospec.spec.model import ClassSpec

from ..conftest import EXAMPLES, FIXTURES

BROKEN = sorted((FIXTURES / "specs" / "broken").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.*)$", re.MULTILINE)


def test_there_is_a_fixture_per_failure_mode() -> None:
    assert len(BROKEN) >= 12


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec_reports_every_problem_at_its_location(path: Path) -> None:
    expected = EXPECT.findall(path.read_text(encoding="utf-8"))
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    problems = info.value.problems
    assert len(problems) == len(expected), [str(p) for p in problems]
    for line, column, message in expected:
        matching = [
            p for p in problems if (p.line, p.column) == (int(line), int(column)) and p.message.startswith(message)
        ]
        assert matching, f"expected {line}:{column}: {message!r}; got {[str(p) for p in problems]}"
        assert all(p.path == str(path) for p in problems)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/spec.yaml")), ids=lambda p: p.parent.name)
def test_examples_load(path: Path) -> None:
    spec = load_spec(path)
    assert spec.positives
    assert spec.source is not None and spec.source.path == str(path)


def test_defaults_are_filled_in() -> None:
    spec = load_spec_text("taxospec: 1\nname: x\nclasses: {a: {}}\n")
    assert spec.media == "image" and spec.unit == "image"
    assert spec.classes["a"] == ClassSpec()
    assert spec.min_examples_of("a") == spec.balance.min_examples == 50
    assert spec.coverage.per_value.min_share == 0.05
    assert spec.tightness.temporal.min_seconds == 0.2
    assert spec.duplicates.max_similarity is None and spec.duplicates.relative_distance == 0.25
    assert spec.splits is None
    assert spec.embedding.model == "ViT-B-32"


def test_spec_is_frozen() -> None:
    spec = load_spec_text("taxospec: 1\nname: x\nclasses: {a: {prompts: [p]}}\n")
    with pytest.raises(Exception, match="frozen"):
        spec.name = "y"  # type: ignore[misc]
    assert isinstance(spec.classes["a"].prompts, tuple)


def test_yaml_1_2_scalars_are_not_coerced() -> None:
    spec = load_spec_text(
        "taxospec: 1\nname: 2024-05-01\nclasses:\n  'no': {description: yes}\n  on: {role: negative}\n"
    )
    assert spec.name == "2024-05-01"
    assert set(spec.classes) == {"no", "on"}
    assert spec.classes["no"].description == "yes"


def test_folded_and_literal_scalars_read_as_text() -> None:
    spec = load_spec_text(
        'taxospec: 1\nname: x\ndescription: >\n  one,\n  two\nclasses:\n  a: {description: "bell \\a kept"}\n'
        "  b:\n    description: |\n      line one\n      line two\n"
    )
    assert spec.description == "one, two\n"
    assert spec.classes["a"].description == "bell \a kept"
    assert spec.classes["b"].description == "line one\nline two\n"


def test_numbers_in_yaml_forms() -> None:
    spec = load_spec_text("taxospec: 1\nname: x\nclasses: {a: {min_examples: 0x1F}}\nbalance: {max_ratio: 1_000}\n")
    assert spec.min_examples_of("a") == 31
    assert spec.balance.max_ratio == 1000.0


def test_anchors_and_aliases_are_allowed() -> None:
    text = "taxospec: 1\nname: x\nclasses:\n  a: {prompts: &p [one, two]}\n  b: {prompts: *p}\n"
    spec = load_spec_text(text)
    assert spec.classes["b"].prompts == ("one", "two")


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(SpecError, match="alias bomb"):
        load_spec_text("\n".join(lines))


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(SpecError):
        load_spec_text("a: " + "[" * 2000 + "]" * 2000)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary", "binary"),
        (b"taxospec: 1\nname: \xff\xfe\n", "not UTF-8"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError, match=message):
        load_spec(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes("\ufefftaxospec: 1\nname: x\nclasses: {café: {}}\n".encode())
    assert "café" in load_spec(path).classes


def test_problems_are_sorted_and_rendered_with_locations() -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text("taxospec: 1\nnme: x\nclasses: {a: {rol: positive}}\n", "s.yaml")
    rendered = info.value.render().splitlines()
    assert rendered == [
        "s.yaml:1:1: missing required key 'name'",
        "s.yaml:2:1: unknown key 'nme' (did you mean 'name'?)",
        "s.yaml:3:15: unknown key 'rol' in classes.a (did you mean 'role'?)",
    ]


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    with pytest.raises(SpecError, match=r"unknown key 'zzz' in balance \(allowed: max_ratio, min_examples"):
        load_spec_text("taxospec: 1\nname: x\nclasses: {a: {}}\nbalance: {zzz: 1}\n")


def test_class_helpers() -> None:
    spec = load_spec_text(
        """
taxospec: 1
name: x
classes:
  a: {hard_negatives: [b], axes: {light: {values: [day]}}}
  b: {role: negative, min_examples: 7}
axes:
  light: {values: [day, night]}
  pose: {values: [up, down], applies_to: [a]}
coverage:
  combinations:
    - {axes: [light, pose], min: 2}
    - {axes: [light], min: 1, classes: [b]}
"""
    )
    assert isinstance(spec, Spec)
    assert spec.positives == ["a"] and spec.negatives == ["b"]
    assert spec.axes_of("a") == ["light", "pose"] and spec.axes_of("b") == ["light"]
    assert spec.axis_values_of("a", "light") == ("day",)
    assert spec.axis_values_of("b", "light") == ("day", "night")
    assert [c.axes for c in spec.combinations_of("a")] == [("light", "pose")]
    assert [c.axes for c in spec.combinations_of("b")] == [("light",)]
    assert spec.min_examples_of("b") == 7
