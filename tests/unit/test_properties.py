"""Property tests: whatever text the loader is fed, it returns a Spec or raises SpecError, nothing else."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from ruamel.yaml import YAML

from taxospec import Spec, SpecError, lint_spec, load_spec_text
from taxospec.cli import cli
from taxospec.render.spec_summary import render_spec_summary
from taxospec.spec.model import (
    AxisSpec,
    BalanceSpec,
    ClassSpec,
    CoverageSpec,
    EmbeddingSpec,
    SplitsSpec,
    TightnessSpec,
)

from ..conftest import EXAMPLES

VALID_TEXTS = [p.read_text() for p in sorted(EXAMPLES.glob("*/spec.yaml"))]
FIELD_NAMES = sorted(
    {
        name
        for model in (Spec, ClassSpec, AxisSpec, CoverageSpec, BalanceSpec, TightnessSpec, SplitsSpec, EmbeddingSpec)
        for name in model.model_fields
    }
)
YAML_ALPHABET = st.sampled_from(list(" \n\t:-[]{},#&*!|>'\"%@`?0123456789abcxyz.~") + ["\u00e9", "\u202e", "\x00"])


def _check(text: str) -> None:
    try:
        spec = load_spec_text(text, "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1 and problem.message
        return
    findings = lint_spec(spec)
    for finding in findings:
        assert finding.line >= 1 and finding.column >= 1
    render_spec_summary(spec, findings, Console(file=io.StringIO(), width=100))


@st.composite
def mutated_spec(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_TEXTS))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "insert", "dup-line", "swap"]))
        i = draw(st.integers(0, max(0, len(text) - 1)))
        if op == "delete":
            j = draw(st.integers(i, min(len(text), i + 40)))
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.text(YAML_ALPHABET, min_size=1, max_size=8)) + text[i:]
        elif op == "dup-line":
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            text = "\n".join(lines)
        elif len(text) > i + 1:
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["image", "video", "box", "segment", "positive", "negative", "train", "val"]),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=10))
structures = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)


def _dump(data: Any) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_crashes(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(mutated_spec())
def test_mutated_specs_never_crash(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, structures, max_size=8))
def test_random_structures_never_crash(data: dict[str, Any]) -> None:
    _check(_dump({"taxospec": 1, "name": "fuzz", **data}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_spec())
def test_cli_never_shows_a_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    runner = CliRunner()
    for command in ("lint", "describe"):
        result = runner.invoke(cli, [command, str(path)], catch_exceptions=False)
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output and "internal error" not in result.stderr
