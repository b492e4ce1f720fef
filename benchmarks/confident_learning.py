"""Should taxospec take cleanlab as a dependency for confident learning, or keep its own estimator?

On the same out-of-fold probabilities (taxospec's mixture of its linear probe and neighbour vote, first
round), for several datasets, noise models and seeds:
- taxospec `find_label_issues(per_pair=True)` against cleanlab's `filter.find_label_issues(filter_by=
  "prune_by_noise_rate")` — the same method written twice: do they flag the same examples?
- taxospec's default ranking (`global`) and cleanlab's other filters, F1 against the planted flips;
- the time of one call, and what importing cleanlab costs (seconds, and the packages it brings).

    .venv/bin/python benchmarks/confident_learning.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import time
import warnings

import numpy as np
from _defects import CONDITIONS, datasets
from detection_quality import prf

CELLS = [
    ("digits", "look-alike flips 10%"),
    ("digits", "uniform flips 10%"),
    ("iris", "look-alike flips 10%"),
    ("wine", "look-alike flips 3%"),
    ("breast-cancer", "look-alike flips 10%"),
    ("generated-7", "look-alike flips 3%"),
    ("generated-7", "look-alike flips 20%"),
    ("embedding-like", "look-alike flips 10%"),
]


def probabilities(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """taxospec's first-round out-of-fold probabilities for (features, labels)."""
    from taxospec.embeddings.index import NeighborIndex
    from taxospec.scores import geometry
    from taxospec.scores.label_issues import label_evidence

    classes = int(labels.max()) + 1
    chosen, _ = geometry.choose(features, labels, classes)
    space = geometry.prepare(features, chosen)
    _, ids = NeighborIndex(space.neighbours, device="cpu", metric=space.metric).knn(10)
    return label_evidence(features, labels, classes, ids, rounds=1).probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    options = parser.parse_args()
    from cleanlab.filter import find_label_issues as cleanlab_issues

    from taxospec.scores.confident import find_label_issues

    methods = {
        "taxospec global (default)": lambda p, y: find_label_issues(p, y).flagged,
        "taxospec per-pair": lambda p, y: find_label_issues(p, y, per_pair=True).flagged,
        "cleanlab prune_by_noise_rate": lambda p, y: cleanlab_issues(y, p, filter_by="prune_by_noise_rate"),
        "cleanlab both": lambda p, y: cleanlab_issues(y, p, filter_by="both"),
        "cleanlab confident_learning": lambda p, y: cleanlab_issues(y, p, filter_by="confident_learning"),
    }
    print("| dataset | condition | " + " | ".join(methods) + " | per-pair = cleanlab (Jaccard) |")
    print("|---|---|" + "---:|" * (len(methods) + 1))
    seconds = dict.fromkeys(methods, 0.0)
    all_f1: dict[str, list[float]] = {m: [] for m in methods}
    for name, condition in CELLS:
        data = datasets()[name]()
        f1s: dict[str, list[float]] = {m: [] for m in methods}
        agreement = []
        for seed in range(options.seeds):
            planted = CONDITIONS[condition](data, seed)
            p = probabilities(planted.features, planted.labels)
            flags = {}
            for method, run in methods.items():
                began = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    flags[method] = set(np.flatnonzero(run(p, planted.labels)).tolist())
                seconds[method] += time.perf_counter() - began
                f1s[method].append(prf(flags[method], planted.truth["label"])[2])
            a, b = flags["taxospec per-pair"], flags["cleanlab prune_by_noise_rate"]
            agreement.append(len(a & b) / max(1, len(a | b)))
        for method in methods:
            all_f1[method] += f1s[method]
        cells = " | ".join(f"{np.mean(f1s[m]):.2f} ± {np.std(f1s[m]):.2f}" for m in methods)
        print(f"| {name} | {condition} | {cells} | {np.mean(agreement):.3f} |", flush=True)
    print("| **mean F1** | | " + " | ".join(f"**{np.mean(all_f1[m]):.3f}**" for m in methods) + " | |")
    calls = len(CELLS) * options.seeds
    print("\nmilliseconds per call: " + ", ".join(f"{m} {1000 * s / calls:.1f}" for m, s in seconds.items()))
    probe = "import time; t = time.perf_counter(); import cleanlab.filter; print(time.perf_counter() - t)"
    took = float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    needs = importlib.metadata.requires("cleanlab") or []
    base = sorted(
        {r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in needs if "extra" not in r}
    )
    print(f"importing cleanlab.filter: {took:.2f} s; cleanlab {importlib.metadata.version('cleanlab')} requires {base}")


if __name__ == "__main__":
    main()
