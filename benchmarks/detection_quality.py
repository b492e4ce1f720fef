"""Detection quality of taxospec's example scores beside Cleanlab Datalab's, on the same features, in one run.

Datasets: iris, wine, breast cancer and digits (they ship inside scikit-learn), a generated 7-class set and
CLIP-like unit vectors with look-alike twin classes (`_defects.py`). Noise models: look-alike flips at
3/10/20 %, uniform flips at 10 %, noise and out-of-distribution outliers, exact copies and near-copies at
two noise levels, copies across splits, and clean data. Every (dataset, noise model) runs on `--seeds`
seeds (default 5); precision, recall and F1 per defect kind are reported as mean ± standard deviation.

taxospec runs its real check path (a Label Studio export of the rows, `run_checks` with the features as
precomputed embeddings: `likely-mislabel`, `outlier`, `near-duplicate`, `duplicate-across-splits`); Datalab
(cleanlab) runs `find_issues(features=…)` for `label`, `outlier` and `near_duplicate`.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/detection_quality.py                    # the whole suite, ~20 min on 2 cores
    .venv/bin/python benchmarks/detection_quality.py --datasets digits --conditions "look-alike flips 10%"
    .venv/bin/python benchmarks/detection_quality.py --variant "checks: {likely-mislabel: {params: {rounds: 1}}}"

Targets (benchmarks/README.md): F1 at least Datalab's wherever Datalab's F1 is at least 0.5; precision and
recall at least 0.9 at 10 % look-alike flips on digits; on clean data no more flags than Datalab.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from _common import image_task
from _defects import CONDITIONS, Planted, datasets

KINDS = {
    "label": "likely-mislabel",
    "outlier": "outlier",
    "duplicate": "near-duplicate",
    "split": "duplicate-across-splits",
}
DATALAB = {"label": "label", "outlier": "outlier", "duplicate": "near_duplicate", "split": "near_duplicate"}


def spec_text(classes: int, lookalike: dict[int, int], extra: str = "") -> str:
    """A spec for `classes` classes c0, c1, … whose hard negatives are the look-alikes, with a split."""
    lines = ["taxospec: 1", "name: bench", "classes:"]
    for c in range(classes):
        twin = lookalike.get(c)
        negatives = f", hard_negatives: [c{twin}]" if twin is not None and twin != c else ""
        lines.append(f"  c{c}: {{min_examples: 1{negatives}}}")
    lines += ["splits: {field: split, values: [train, val]}", extra]
    return "\n".join(lines) + "\n"


def team_predictions(planted: Planted, accuracy: float, seed: int) -> list[tuple[int, float]]:
    """A simulated team model's prediction per row: the true class `accuracy` of the time (score 0.9),
    else another class (score 0.6)."""
    rng = np.random.default_rng(seed + 7)
    truth = planted.true_labels if planted.true_labels is not None else planted.labels
    truth = np.concatenate([truth, planted.labels[len(truth) :]])
    classes = int(planted.labels.max()) + 1
    right = rng.random(len(truth)) < accuracy
    other = (truth + rng.integers(1, classes, size=len(truth))) % classes
    return [(int(t), 0.9) if r else (int(o), 0.6) for t, o, r in zip(truth, other, right, strict=True)]


def taxospec_flags(
    planted: Planted, extra: str = "", predictions: list[tuple[int, float]] | None = None
) -> tuple[dict[str, set[int]], float]:
    """Rows each taxospec check flags (duplicates: every member of a group) and the seconds the checks took;
    `predictions` (class, score per row) go into the export as a team model's predictions."""
    from taxospec import load_spec_text, read_export
    from taxospec.checks.run import run_checks
    from taxospec.embeddings.space import EmbeddingSpace

    classes = int(planted.labels.max()) + 1
    spec = load_spec_text(spec_text(classes, planted.lookalike, extra))
    names = ["train", "val"]
    tasks = [
        image_task(i + 1, f"{i}.png", f"c{int(y)}", split=names[int(s)])
        for i, (y, s) in enumerate(zip(planted.labels, planted.splits, strict=True))
    ]
    for task, said in zip(tasks, predictions or [], strict=False):
        result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [f"c{said[0]}"]}}]
        task["predictions"] = [{"model_version": "team", "score": said[1], "result": result}]
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.json"
        export.write_text(json.dumps(tasks))
        dataset = read_export(spec, export)
    features = planted.features.astype(np.float32)
    space = EmbeddingSpace(np.arange(len(features)), features, "bench", features=features, search_device="cpu")
    began = time.perf_counter()
    findings, _ = run_checks(dataset, embeddings=space, select=set(KINDS.values()))
    seconds = time.perf_counter() - began
    flagged: dict[str, set[int]] = {kind: set() for kind in KINDS}
    for finding in findings:
        for kind, code in KINDS.items():
            if finding.code != code:
                continue
            flagged[kind].add((finding.task_id or 0) - 1)
            flagged[kind] |= {t - 1 for t in finding.related_tasks}
    return flagged, seconds


def datalab_flags(
    planted: Planted, predictions: list[tuple[int, float]] | None = None
) -> tuple[dict[str, set[int]], float]:
    """Rows Datalab flags per issue type, and the seconds `find_issues` took; with the team model's
    `predictions`, Datalab gets them as `pred_probs` (the predicted class its score, the rest shared)."""
    from cleanlab import Datalab

    lab = Datalab(data={"label": planted.labels.tolist()}, label_name="label", verbosity=0)
    extra: dict[str, Any] = {}
    if predictions is not None:
        classes = int(planted.labels.max()) + 1
        probs = np.empty((len(predictions), classes))
        for row, (predicted, score) in enumerate(predictions):
            probs[row] = (1 - score) / (classes - 1)
            probs[row, predicted] = score
        extra["pred_probs"] = probs
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lab.find_issues(
            features=planted.features.astype(np.float32),
            issue_types={"label": {}, "outlier": {}, "near_duplicate": {}},
            **extra,
        )
    seconds = time.perf_counter() - began
    flagged = {}
    for kind, issue in DATALAB.items():
        flagged[kind] = set(np.flatnonzero(lab.get_issues(issue)[f"is_{issue}_issue"].to_numpy()).tolist())
    return flagged, seconds


def prf(found: set[int], truth: set[int]) -> tuple[float, float, float]:
    """Precision, recall and F1 (precision 1 when nothing is flagged)."""
    hit = len(found & truth)
    precision = hit / len(found) if found else 1.0
    recall = hit / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def run_cell(dataset: str, condition: str, seeds: int, extra: str, team: float | None = None) -> dict[str, Any]:
    """Every seed of one (dataset, condition): per tool and defect kind, P/R/F1 per seed and flag counts."""
    data = datasets()[dataset]()
    out: dict[str, Any] = {"dataset": dataset, "condition": condition, "seeds": seeds, "tools": {}}
    seconds: dict[str, list[float]] = defaultdict(list)
    scores: dict[str, dict[str, list[tuple[float, float, float]]]] = defaultdict(lambda: defaultdict(list))
    flags: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for seed in range(seeds):
        planted = CONDITIONS[condition](data, seed)
        said = team_predictions(planted, team, seed) if team is not None else None
        for tool in ("taxospec", "datalab"):
            found, took = taxospec_flags(planted, extra, said) if tool == "taxospec" else datalab_flags(planted, said)
            seconds[tool].append(took)
            kinds = planted.truth or {"label": set(), "outlier": set(), "duplicate": set()}
            for kind in kinds:
                chosen = found[kind]
                scores[tool][kind].append(prf(chosen, planted.truth.get(kind, set())))
                flags[tool][kind].append(len(chosen))
    for tool in scores:
        out["tools"][tool] = {
            "seconds": float(np.mean(seconds[tool])),
            "kinds": {
                kind: {
                    "precision": _spread([s[0] for s in values]),
                    "recall": _spread([s[1] for s in values]),
                    "f1": _spread([s[2] for s in values]),
                    "flags": float(np.mean(flags[tool][kind])),
                }
                for kind, values in scores[tool].items()
            },
        }
    return out


def _spread(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def verdicts(cell: dict[str, Any]) -> list[str]:
    """The targets this cell misses, in words (empty: all met)."""
    ours, theirs = cell["tools"]["taxospec"]["kinds"], cell["tools"]["datalab"]["kinds"]
    missed = []
    if cell["condition"] == "clean":
        for kind in ours:
            if ours[kind]["flags"] > theirs[kind]["flags"]:
                missed.append(
                    f"{kind}: {ours[kind]['flags']:.1f} flags on clean data, Datalab {theirs[kind]['flags']:.1f}"
                )
        return missed
    for kind in ours:
        f1, their_f1 = ours[kind]["f1"]["mean"], theirs[kind]["f1"]["mean"]
        if their_f1 >= 0.5 and f1 < their_f1:
            missed.append(f"{kind}: F1 {f1:.2f} < Datalab {their_f1:.2f}")
    if cell["dataset"] == "digits" and cell["condition"] == "look-alike flips 10%":
        p, r = ours["label"]["precision"]["mean"], ours["label"]["recall"]["mean"]
        if p < 0.9 or r < 0.9:
            missed.append(f"label: precision {p:.2f}, recall {r:.2f} (target 0.9 each)")
    return missed


def table(cells: list[dict[str, Any]]) -> str:
    """The results as a Markdown table, one row per (dataset, condition, defect kind)."""
    rows = [
        "| dataset | condition | defect | taxospec P | R | F1 | flags | Datalab P | R | F1 | flags | target |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for cell in cells:
        ours, theirs = cell["tools"]["taxospec"]["kinds"], cell["tools"]["datalab"]["kinds"]
        missed = verdicts(cell)
        for kind in ours:
            a, b = ours[kind], theirs[kind]
            verdict = "—" if not missed else ("**missed**" if any(m.startswith(kind) for m in missed) else "met")
            if not missed:
                verdict = "met"
            rows.append(
                f"| {cell['dataset']} | {cell['condition']} | {kind} | "
                + " | ".join(_cell(a[m]) for m in ("precision", "recall", "f1"))
                + f" | {a['flags']:.1f} | "
                + " | ".join(_cell(b[m]) for m in ("precision", "recall", "f1"))
                + f" | {b['flags']:.1f} | {verdict} |"
            )
    return "\n".join(rows)


def _cell(value: dict[str, float]) -> str:
    return f"{value['mean']:.2f} ± {value['std']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(datasets()), help="comma-separated dataset names")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated noise models")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--variant", default="", help="YAML lines added to the spec (e.g. check parameters)")
    parser.add_argument("--json", type=Path, help="write every number here too")
    parser.add_argument(
        "--team-model", type=float, metavar="ACCURACY", help="add a simulated team model's predictions to the export"
    )
    options = parser.parse_args()
    cells = []
    for dataset in options.datasets.split(","):
        for condition in options.conditions.split(","):
            cell = run_cell(dataset, condition, options.seeds, options.variant, options.team_model)
            cells.append(cell)
            missed = verdicts(cell)
            print(f"{dataset:15} {condition:22} {'; '.join(missed) or 'targets met'}", file=sys.stderr, flush=True)
    print(table(cells))
    missed_cells = [(c["dataset"], c["condition"], m) for c in cells for m in verdicts(c)]
    print(f"\n{len(cells) - len({(d, c) for d, c, _ in missed_cells})} of {len(cells)} cells meet every target")
    for dataset, condition, why in missed_cells:
        print(f"- {dataset} / {condition}: {why}")
    took = {tool: sum(c["tools"][tool]["seconds"] for c in cells) for tool in ("taxospec", "datalab")}
    print(f"\nmean seconds per run, summed over cells: taxospec {took['taxospec']:.1f}, Datalab {took['datalab']:.1f}")
    if options.json:
        options.json.write_text(json.dumps(cells, indent=1))


if __name__ == "__main__":
    main()
