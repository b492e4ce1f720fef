"""taxospec's embedding checks against Cleanlab Datalab, on the same features, in the same run.

Part 1, quality — scikit-learn's digits (1,797 real 8×8 images; the pixels are the features), with defects
injected at known rows: 5 % of labels flipped, 20 outliers (noise images), 30 near-duplicates (copies with
a little noise). Precision and recall per defect kind for taxospec (`likely-mislabel`, `outlier`,
`near-duplicate`) and Datalab (`label`, `outlier`, `near_duplicate` issues from `features=`).

Part 2, speed — N × D clustered unit vectors (default 100,000 × 512) with the same kinds of defects; the
time of taxospec's k-NN, duplicate, outlier and mislabel stage (FAISS index, k-NN graph, range search,
per-class fences) against `Datalab.find_issues` for the same three issue types, and how far their
findings agree. Target: ≥ 10× faster.

    pip install -e '.[bench]'         # cleanlab and scikit-learn
    .venv/bin/python benchmarks/versus_cleanlab.py [--n 100000] [--dim 512] [--skip-speed]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import image_task

CODES = {"label": "likely-mislabel", "outlier": "outlier", "near_duplicate": "near-duplicate"}


def inject(
    features: np.ndarray, labels: np.ndarray, classes: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, dict[str, set[int]]]:
    """Flip 5 % of labels, append 20 outliers (noise) and 30 near-copies; return the truth per kind."""
    rng = np.random.default_rng(seed)
    n = len(features)
    labels = labels.copy()
    flipped = rng.choice(n, size=n // 20, replace=False)
    labels[flipped] = (labels[flipped] + rng.integers(1, classes, size=len(flipped))) % classes
    scale = features.std()
    outliers = rng.normal(features.mean(), scale * 3, size=(20, features.shape[1]))
    copies_of = rng.choice(np.setdiff1d(np.arange(n), flipped), size=30, replace=False)
    copies = features[copies_of] + rng.normal(0, scale * 0.01, size=(30, features.shape[1]))
    all_features = np.vstack([features, outliers, copies]).astype(np.float32)
    all_labels = np.concatenate([labels, rng.integers(0, classes, size=20), labels[copies_of]])
    truth = {
        "label": set(flipped.tolist()),
        "outlier": set(range(n, n + 20)),
        "near_duplicate": set(copies_of.tolist()) | set(range(n + 20, n + 50)),
    }
    return all_features, all_labels, truth


def taxospec_findings(
    features: np.ndarray, labels: np.ndarray, classes: int, max_similarity: float
) -> tuple[dict[str, set[int]], float]:
    """Rows each taxospec check flags (duplicates: every member of a group), and the seconds the checks took."""
    from taxospec import load_spec_text, read_export
    from taxospec.checks.run import run_checks
    from taxospec.embeddings.space import EmbeddingSpace

    names = [f"c{i}" for i in range(classes)]
    spec = load_spec_text(
        "taxospec: 1\nname: bench\nclasses:\n"
        + "".join(f"  {name}: {{min_examples: 1}}\n" for name in names)
        + f"duplicates: {{max_similarity: {max_similarity}}}\n"
    )
    tasks = [image_task(i + 1, f"{i}.png", names[int(y)]) for i, y in enumerate(labels)]
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.json"
        export.write_text(json.dumps(tasks))
        dataset = read_export(spec, export)
    space = EmbeddingSpace(np.arange(len(features)), features, "bench")
    began = time.perf_counter()
    findings, _ = run_checks(dataset, embeddings=space, select=set(CODES.values()) | {"duplicate-across-splits"})
    seconds = time.perf_counter() - began
    flagged: dict[str, set[int]] = {kind: set() for kind in CODES}
    for finding in findings:
        row = (finding.task_id or 0) - 1
        for kind, code in CODES.items():
            if finding.code == code:
                if kind == "near_duplicate":
                    flagged[kind] |= {int(t) - 1 for t in finding.message.split("tasks ")[1].rstrip(" …").split(", ")}
                else:
                    flagged[kind].add(row)
    return flagged, seconds


def cleanlab_findings(features: np.ndarray, labels: np.ndarray) -> tuple[dict[str, set[int]], float]:
    """Rows Datalab flags per issue type, and the seconds `find_issues` took."""
    from cleanlab import Datalab

    lab = Datalab(data={"label": labels.tolist()}, label_name="label", verbosity=0)
    began = time.perf_counter()
    lab.find_issues(features=features, issue_types={"label": {}, "outlier": {}, "near_duplicate": {}})
    seconds = time.perf_counter() - began
    flagged = {}
    for kind in CODES:
        issues = lab.get_issues(kind)
        flagged[kind] = set(np.flatnonzero(issues[f"is_{kind}_issue"].to_numpy()).tolist())
    return flagged, seconds


def scores(found: set[int], truth: set[int]) -> tuple[float, float]:
    hit = len(found & truth)
    return (hit / len(found) if found else 1.0), (hit / len(truth) if truth else 1.0)


def quality() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    features, labels, truth = inject(digits.data.astype(np.float32), digits.target, 10)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    ours, our_time = taxospec_findings(unit, labels, 10, max_similarity=0.995)
    theirs, their_time = cleanlab_findings(features, labels)
    print(
        f"digits: {len(features)} examples, 64 pixel features; injected: "
        + ", ".join(f"{k} {len(v)}" for k, v in truth.items())
    )
    print(f"{'defect':16} {'taxospec P':>11} {'R':>6} {'Cleanlab P':>11} {'R':>6}")
    for kind in CODES:
        p1, r1 = scores(ours[kind], truth[kind])
        p2, r2 = scores(theirs[kind], truth[kind])
        print(f"{kind:16} {p1:11.2f} {r1:6.2f} {p2:11.2f} {r2:6.2f}")
    print(f"time: taxospec {our_time:.2f} s, Datalab {their_time:.2f} s")


def speed(n: int, dim: int) -> None:
    rng = np.random.default_rng(1)
    classes = 50
    centers = rng.normal(size=(classes, dim)).astype(np.float32)
    labels = rng.integers(0, classes, size=n)
    features = centers[labels] + 0.9 * rng.normal(size=(n, dim)).astype(np.float32)
    features, labels, truth = inject(features, labels, classes)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    ours, our_time = taxospec_findings(features, labels, classes, max_similarity=0.99)
    theirs, their_time = cleanlab_findings(features, labels)
    print(f"\nspeed: {len(features):,} × {dim} clustered unit vectors, {classes} classes")
    print(f"taxospec k-NN + duplicates + outliers + mislabels: {our_time:8.1f} s")
    ratio = their_time / our_time
    print(f"Cleanlab Datalab find_issues (same three):          {their_time:8.1f} s   ({ratio:.1f}× slower)")
    for kind in CODES:
        a, b = ours[kind], theirs[kind]
        p1, r1 = scores(a, truth[kind])
        p2, r2 = scores(b, truth[kind])
        print(
            f"  {kind:15} taxospec P {p1:.2f} R {r1:.2f} | Datalab P {p2:.2f} R {r2:.2f} | "
            f"agreement {len(a & b) / max(1, len(a | b)):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--skip-speed", action="store_true")
    options = parser.parse_args()
    quality()
    if not options.skip_speed:
        speed(options.n, options.dim)


if __name__ == "__main__":
    main()
