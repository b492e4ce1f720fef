"""Which linear probe for `likely-mislabel`: ridge regression with closed-form leave-one-out predictions
(taxospec's) against 5-fold cross-validated multinomial logistic regression (scikit-learn's, the common
choice), each inside taxospec's whole label-issue method (neighbour-vote mixture, confident learning,
three rounds), on the same planted flips and seeds. Reported: F1 of the flags and seconds per run.

    .venv/bin/python benchmarks/probe_choice.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _defects import CONDITIONS, datasets
from detection_quality import prf

CELLS = [
    ("iris", "look-alike flips 10%"),
    ("wine", "look-alike flips 10%"),
    ("breast-cancer", "look-alike flips 10%"),
    ("digits", "look-alike flips 10%"),
    ("generated-7", "look-alike flips 10%"),
    ("embedding-like", "look-alike flips 10%"),
]


def logistic_probe(
    features: np.ndarray, labels: np.ndarray, classes: int, train: np.ndarray | None = None, penalties: object = None
) -> tuple[np.ndarray, float]:
    """Out-of-sample probabilities from scikit-learn's logistic regression: 5-fold on the training rows,
    the model fitted on all of them for the others (the contract of `probe.ridge_probe`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = np.ones(len(labels), dtype=bool) if train is None else train
    rows = np.flatnonzero(train)
    out = np.zeros((len(labels), classes))

    def fit(x: np.ndarray, y: np.ndarray) -> object:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        model.fit(x, y)
        return model

    def put(model: object, where: np.ndarray) -> None:
        probs = model.predict_proba(features[where])  # type: ignore[attr-defined]
        out[np.ix_(where, model.classes_)] = probs  # type: ignore[attr-defined]

    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fit_rows, test_rows in folds.split(features[rows], labels[rows]):
            put(fit(features[rows[fit_rows]], labels[rows[fit_rows]]), rows[test_rows])
        if (~train).any():
            put(fit(features[rows], labels[rows]), np.flatnonzero(~train))
    return out, 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    options = parser.parse_args()
    from taxospec.embeddings.index import NeighborIndex
    from taxospec.scores import geometry, label_issues
    from taxospec.scores.probe import ridge_probe

    probes = {"ridge, leave-one-out (taxospec)": ridge_probe, "logistic, 5-fold (scikit-learn)": logistic_probe}
    print("| dataset | condition | " + " | ".join(f"{p} F1 | s" for p in probes) + " |")
    print("|---|---|" + "---:|---:|" * len(probes))
    for name, condition in CELLS:
        data = datasets()[name]()
        scores: dict[str, list[float]] = {p: [] for p in probes}
        seconds: dict[str, list[float]] = {p: [] for p in probes}
        for seed in range(options.seeds):
            planted = CONDITIONS[condition](data, seed)
            x, y = planted.features, planted.labels
            classes = int(y.max()) + 1
            chosen, _ = geometry.choose(x, y, classes)
            space = geometry.prepare(x, chosen)
            _, ids = NeighborIndex(space.neighbours, device="cpu", metric=space.metric).knn(10)
            for probe_name, probe in probes.items():
                label_issues.ridge_probe = probe  # type: ignore[assignment]
                began = time.perf_counter()
                evidence = label_issues.label_evidence(x, y, classes, ids)
                seconds[probe_name].append(time.perf_counter() - began)
                found = set(np.flatnonzero(evidence.issues.flagged).tolist())
                scores[probe_name].append(prf(found, planted.truth["label"])[2])
        label_issues.ridge_probe = ridge_probe  # type: ignore[assignment]
        cells = " | ".join(
            f"{np.mean(scores[p]):.2f} ± {np.std(scores[p]):.2f} | {np.mean(seconds[p]):.2f}" for p in probes
        )
        print(f"| {name} | {condition} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
