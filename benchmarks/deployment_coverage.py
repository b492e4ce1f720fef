"""Deployment coverage and "label these next" on the synthetic-signals demo, over seeds and fences.

Each seed renders the demo anew (`make_demo.py --seed N --only images,deployment`): the labeled export,
a deployment sample of two cameras — gate-1 shot like the labeled data but also seeing figures far away
(24 pictures; the labeled data has none) and timeouts at night in front of a crowd (24; the labeled data
has none of those, though it has night crowds of the look-alikes), gate-2 a darker camera (60) — and an
unlabeled pool of 150 pictures, 50 of them far or night-crowd timeouts (what labeling would fill).

A second suite of synthetic embeddings of known geometry (3 or 6 classes, two noise models, a dense and a
sparse missing scenario; `geometry_table`) runs `measure_coverage` directly.

Recorded per seed, as mean ± sd over the seeds, for each `deployment.fence` swept:
- the share of each planted kind judged uncovered (recall), and of gate-1's ordinary pictures (false
  alarms); whether a far scenario is found and gate-2 reported darker; the shift AUC per camera;
- precision of the first k pool picks (share planted useful) for `taxospec todo --pool`, for zero-shot
  matching alone (the same ranking, each scenario matched by its zero-shot conditions), and for a random
  pick.

    .venv/bin/python benchmarks/deployment_coverage.py                 # 5 seeds, 4 fences: ~6 min on 2 cores
    .venv/bin/python benchmarks/deployment_coverage.py --seeds 5 --fences 1.5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import deployment_demo as demo

SEEDS = (5, 11, 23, 37, 41)
KS = (10, 20, 40)


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def coverage_table(folders: dict[int, Path], cache: Path, fences: list[float]) -> None:
    """Print the coverage rows, one per fence."""
    print(
        "| fence | far uncovered | night-crowd uncovered | ordinary uncovered (false) | darker camera uncovered "
        "| far scenario found | gate-2 darker found | shift AUC gate-1 | shift AUC gate-2 |"
    )
    print("|---:|---|---|---|---|---|---|---|---|")
    for fence in fences:
        rows = defaultdict(list)
        for folder in folders.values():
            m = demo.measure(folder, demo.run(folder, cache, fence))
            for name in ("far_uncovered", "night_crowd_uncovered", "ordinary_uncovered", "darker_uncovered"):
                rows[name].append(getattr(m, name))
            rows["far_scenario"].append(float(m.far_scenario))
            rows["darker_flagged"].append(float(m.darker_flagged))
            rows["auc-1"].append(m.shift_auc["gate-1"] or 0.0)
            rows["auc-2"].append(m.shift_auc["gate-2"] or 0.0)
        cells = [
            _spread(rows[n])
            for n in ("far_uncovered", "night_crowd_uncovered", "ordinary_uncovered", "darker_uncovered")
        ]
        found = [f"{int(sum(rows[n]))}/{len(folders)}" for n in ("far_scenario", "darker_flagged")]
        print(f"| {fence} | " + " | ".join(cells + found + [_spread(rows["auc-1"]), _spread(rows["auc-2"])]) + " |")


def geometry_table(seeds: int, fences: list[float]) -> None:
    """The fence on synthetic embeddings of known geometry: labeled classes as clusters on the unit sphere
    (3 or 6 classes, 64 dimensions); deployment pictures drawn like them (must stay covered) under two noise
    models — the same spread (they must stay covered), and a noisier camera (spread 1.3 times wider: a shift
    that should show) — plus a scenario the data lacks (a new cluster of 30, or a sparse one of 8)."""
    from taxospec.deployment.coverage import measure_coverage
    from taxospec.deployment.describe import ZeroShot
    from taxospec.embeddings.index import NeighborIndex

    print("\n| fence | classes | deployment | new scenario | scenario uncovered | others uncovered | found whole |")
    print("|---:|---:|---|---|---|---|---|")
    for fence in fences:
        for classes in (3, 6):
            for noise, spread in (("same spread", 1.0), ("noisier camera", 1.3)):
                for size in (30, 8):
                    hit, false, whole = [], [], []
                    for seed in range(seeds):
                        rng = np.random.default_rng(seed)
                        centres = rng.normal(size=(classes + 1, 64))
                        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
                        labeled = np.vstack([_cluster(rng, c, 100, 0.15) for c in centres[:classes]])
                        labels = [str(i // 100) for i in range(len(labeled))]
                        like = np.vstack([_cluster(rng, c, 30, 0.15 * spread) for c in centres[:classes]])
                        new = _cluster(rng, centres[classes], size, 0.15)
                        points = np.vstack([like, new])
                        found = measure_coverage(
                            NeighborIndex(labeled, device="cpu"),
                            labels,
                            points,
                            ["cam"] * len(points),
                            ZeroShot({}, None),
                            fence,
                            3,
                        )
                        hit.append(float((~found.covered[len(like) :]).mean()))
                        false.append(float((~found.covered[: len(like)]).mean()))
                        rows = [set(s.rows.tolist()) for s in found.scenarios]
                        whole.append(
                            float(any(len(r & set(range(len(like), len(points)))) >= 0.8 * size for r in rows))
                        )
                    print(
                        f"| {fence} | {classes} | {noise} | {size} | {_spread(hit)} | {_spread(false)} "
                        f"| {_spread(whole)} |"
                    )


def _cluster(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float) -> np.ndarray:
    points = centre + rng.normal(0, spread / np.sqrt(len(centre)), size=(n, len(centre)))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def label_next_table(folders: dict[int, Path], cache: Path) -> None:
    """Print the label-next precision per k."""
    rows: dict[tuple[str, int], list[float]] = defaultdict(list)
    picked = []
    for seed, folder in folders.items():
        picks, alone = demo.label_next(folder, cache, max(KS))
        picked.append(len(picks))
        for k in KS:
            rows[("taxospec", k)].append(demo.pool_precision(picks, folder, k))
            rows[("zero-shot alone", k)].append(demo.pool_precision(alone, folder, k))
            rows[("random", k)].append(np.mean([demo.random_precision(folder, k, seed * 100 + r) for r in range(20)]))
    print("\n| ranking | " + " | ".join(f"precision@{k}" for k in KS) + " |")
    print("|---|" + "---|" * len(KS))
    for ranking in ("taxospec", "zero-shot alone", "random"):
        print(f"| {ranking} | " + " | ".join(_spread(rows[(ranking, k)]) for k in KS) + " |")
    print(f"\ntaxospec picked {min(picked)}–{max(picked)} pictures (it stops when no open item is left to fill);")
    print("precision@k is over the first min(k, picked) picks. 50 of the 150 pool pictures are useful (0.33).")


def main() -> None:
    """Render the seeds and print the tables (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=len(SEEDS))
    parser.add_argument("--fences", default="1.0,1.5,2.0,3.0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = {seed: demo.demo(seed, Path(tmp)) for seed in SEEDS[: args.seeds]}
        cache = Path(tmp) / "cache"
        print(f"seeds {', '.join(map(str, folders))}\n")
        fences = [float(f) for f in args.fences.split(",")]
        coverage_table(folders, cache, fences)
        geometry_table(args.seeds, fences)
        label_next_table(folders, cache)


if __name__ == "__main__":
    main()
