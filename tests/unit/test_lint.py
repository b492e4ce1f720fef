from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from taxospec import Severity, lint_spec, load_spec, load_spec_text
from taxospec.plugins.registry import lint_rules

from ..conftest import EXAMPLES, FIXTURES

LINT_FIXTURES = sorted((FIXTURES / "specs" / "lint").glob("*.yaml"))
EXPECT = re.compile(r"^# expect-lint: (\S+) (\d+):(\d+)$", re.MULTILINE)

BASE = "taxospec: 1\nname: x\nembedding: {enabled: false}\n"

# rule code -> a spec body (appended to BASE) that must trigger it, for the rules the fixture files do not cover
INLINE_CASES = {
    "no-positive-class": "classes: {a: {role: negative}}\n",
    "case-clash": "classes: {Timeout: {hard_negatives: [timeout]}, timeout: {role: negative}}\n",
    "axis-applies-to-nothing": "classes: {a: {hard_negatives: [b]}, b: {role: negative}}\n"
    "axes: {l: {values: [x, y], applies_to: []}}\n",
    "override-of-inapplicable-axis": "classes: {a: {hard_negatives: [b], axes: {l: {min_share: 0.1}}},"
    " b: {role: negative}}\naxes: {l: {values: [x, y], applies_to: [b]}}\n",
    "region-axis-without-regions": "unit: image\nclasses: {a: {hard_negatives: [b]}, b: {role: negative}}\n"
    "axes: {l: {values: [x, y], scope: region}}\n",
    "unknown-check": "classes: {a: {hard_negatives: [b]}, b: {role: negative}}\n"
    "checks: {segment-too-lng: {enabled: false}}\n",
    "label-collision": "classes: {a: {hard_negatives: [b]}, b: {role: negative}}\nlabelstudio: {labels: {a: b}}\n",
}


@pytest.mark.parametrize("path", LINT_FIXTURES, ids=lambda p: p.stem)
def test_lint_fixture_findings_and_locations(path: Path) -> None:
    expected = sorted((code, int(line), int(col)) for code, line, col in EXPECT.findall(path.read_text()))
    found = sorted((f.code, f.line, f.column) for f in lint_spec(load_spec(path)))
    assert found == expected


@pytest.mark.parametrize("code", sorted(INLINE_CASES))
def test_inline_case_triggers_its_rule(code: str) -> None:
    findings = lint_spec(load_spec_text(BASE + INLINE_CASES[code]))
    assert code in {f.code for f in findings}, [str(f) for f in findings]


def test_every_rule_is_exercised_by_a_test() -> None:
    covered = set(INLINE_CASES) | {"single-prompt", "unknown-backend"}
    for path in LINT_FIXTURES:
        covered |= {code for code, _, _ in EXPECT.findall(path.read_text())}
    assert set(lint_rules().names()) <= covered


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/spec.yaml")), ids=lambda p: p.parent.name)
def test_examples_lint_clean(path: Path) -> None:
    findings = lint_spec(load_spec(path))
    assert [str(f) for f in findings if f.severity != Severity.INFO] == []


def test_single_prompt_is_info_and_only_with_embeddings() -> None:
    body = "classes: {a: {hard_negatives: [b], prompts: [one]}, b: {role: negative}}\n"
    with_embeddings = lint_spec(load_spec_text("taxospec: 1\nname: x\n" + body))
    assert [(f.code, f.severity) for f in with_embeddings] == [("single-prompt", Severity.INFO)]
    assert lint_spec(load_spec_text(BASE + body)) == []


def test_quota_messages_say_what_to_change() -> None:
    spec = load_spec_text(
        BASE + "classes: {a: {hard_negatives: [b], min_examples: 10}, b: {role: negative, min_examples: 100}}\n"
        "axes: {l: {values: [x, y]}, m: {values: [p, q, r]}}\n"
        "coverage: {combinations: [{axes: [l, m], min: 3}]}\n"
    )
    messages = [f.message for f in lint_spec(spec) if f.code == "quota-exceeds-minimum"]
    assert messages == [
        "class 'a': l × m has 6 cells × min 3 = 18 examples, more than its min_examples 10: "
        "raise min_examples to at least 18 or lower the per-cell minimum"
    ]


def test_max_share_too_low_is_reported_once_per_axis() -> None:
    spec = load_spec_text(
        BASE + "classes: {a: {hard_negatives: [b]}, b: {role: negative}}\n"
        "axes: {l: {values: [x, y]}}\ncoverage: {per_value: {max_share: 0.4}}\n"
    )
    impossible = [f.message for f in lint_spec(spec) if f.code == "quota-impossible"]
    assert impossible == ["with 2 values of axis 'l', max_share 0.4 cannot hold: some value must take more"]


def test_checkpoint_relative_to_spec_folder(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "clip.safetensors").write_bytes(b"x")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        "taxospec: 1\nname: x\nclasses: {a: {hard_negatives: [b], prompts: [p, q]}, b: {role: negative}}\n"
        "embedding: {pretrained: weights/clip.safetensors}\n"
    )
    assert lint_spec(load_spec(spec_path)) == []
    spec_path.write_text(spec_path.read_text().replace("weights/clip", "local-dir:missing/clip"))
    assert [f.code for f in lint_spec(load_spec(spec_path))] == ["checkpoint-not-found"]


def test_findings_render_like_a_compiler() -> None:
    spec = load_spec_text(BASE + "classes: {a: {hard_negatives: [c]}}\n", "s.yaml")
    assert [str(f) for f in lint_spec(spec)] == [
        "s.yaml:4:32: error[unknown-hard-negative]: hard negative 'c' of class 'a' is not a class"
    ]


def test_a_path_too_long_for_the_file_system_is_a_finding_not_a_crash(run_cli: Any, write_spec: Any) -> None:
    """`Path.exists()` raises for a name longer than the file system allows (found by fuzzing)."""
    text = BASE + "classes: {a: {hard_negatives: [b]}, b: {role: negative}}\n"
    path = write_spec(text.replace("embedding: {enabled: false}", f"embedding: {{pretrained: model/{'x' * 5000}.pt}}"))
    result = run_cli("lint", path)
    assert result.exit_code in (0, 1) and "checkpoint-not-found" in result.stdout, result.stderr
    assert run_cli("describe", path).exit_code in (0, 1)


def test_unknown_backend_suggests_the_installed_one() -> None:
    body = "classes: {a: {hard_negatives: [b]}, b: {role: negative}}\n"
    text = "taxospec: 1\nname: x\nembedding: {backend: openclip}\n" + body
    [finding] = [f for f in lint_spec(load_spec_text(text)) if f.code == "unknown-backend"]
    assert "did you mean 'open_clip'" in finding.message and (finding.line, finding.column) == (3, 22)
    assert "unknown-backend" not in {f.code for f in lint_spec(load_spec_text(text.replace("openclip", "open_clip")))}
    disabled = text.replace("{backend: openclip}", "{backend: openclip, enabled: false}")
    assert "unknown-backend" not in {f.code for f in lint_spec(load_spec_text(disabled))}
