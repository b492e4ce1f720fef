"""taxospec's image-quality checks beside CleanVision's on the same planted pictures, in one run.

Datasets (`tests/quality_pictures.py`): ordinary daylight pictures, a night dataset (every picture at 0.3
of its brightness: dark is its norm) and pictures from several cameras (sizes, shapes and JPEG qualities
that vary more). Into each are planted two dark and two blurry pictures and one washed-out, flat, grey,
tiny, strip-shaped, hard-compressed and truncated picture. Every dataset runs on `--seeds` seeds (default
5); for each defect the share found (recall) and, over the 80 ordinary pictures, the share wrongly flagged
by any check, as mean ± standard deviation. The sweep over `fence` (the Tukey factor of every check but
size) is how its default was chosen.

taxospec runs its real check path (`taxospec.check` on a Label Studio export of the folder, the fake
embedder: the quality checks need no model); CleanVision runs `Imagelab(data_path=…).find_issues()` with
its default issue types and thresholds. CleanVision has no compression check; a truncated picture it
cannot open is recorded as a crash, and it then runs again without that file.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/image_quality.py                # ~6 min on 2 cores
    .venv/bin/python benchmarks/image_quality.py --seeds 2 --fences 1.5

Targets (benchmarks/README.md): every planted defect found on every seed at the default fence; on the
night dataset, no ordinary picture flagged dark.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.quality_pictures import CODES, DATASETS, DEFECTS, SPEC, codes_by_file, planted

CLEANVISION = {
    "dark": "dark",
    "light": "light",
    "blurry": "blurry",
    "low_information": "low_information",
    "grayscale": "grayscale",
    "odd_size": "odd_size",
    "odd_aspect": "odd_aspect_ratio",
}
"""Each planted defect's CleanVision issue type (it has none for compression or corrupt files)."""


def taxospec_found(folder: Path, truth: dict[str, str], work: Path, fence: float) -> dict[str, set[str]]:
    """Each file's quality and media codes as `taxospec.check` reports them, every fence at `fence`."""
    codes = [
        code
        for code in CODES.values()
        if code.startswith("image-") and code not in ("image-odd-size", "image-grayscale")
    ]
    params = ", ".join(f"{code}: {{params: {{fence: {fence}}}}}" for code in codes)
    return codes_by_file(folder, truth, work, SPEC + f"checks: {{{params}}}\n")


def cleanvision_found(folder: Path, truth: dict[str, str]) -> tuple[dict[str, set[str]], bool]:
    """Each file's CleanVision issue types, and whether it crashed on the folder as it is (it then runs
    again without the unreadable files)."""
    from cleanvision import Imagelab

    def run(paths: list[str]) -> dict[str, set[str]]:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            lab = Imagelab(filepaths=paths, verbose=False)
            lab.find_issues()
        issues = lab.issues
        out: dict[str, set[str]] = {}
        for path, row in issues.iterrows():
            flagged = {c[3:-6] for c in issues.columns if c.startswith("is_") and c.endswith("_issue") and row[c]}
            out[Path(str(path)).name] = flagged
        return out

    paths = [str(folder / name) for name in sorted(truth)]
    try:
        return run(paths), False
    except Exception:
        readable = [p for p in paths if truth[Path(p).name] != "corrupt"]
        return run(readable), True


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


class Tally:
    """Recall per (dataset, tool, defect), ordinary pictures flagged, CleanVision's crashes."""

    def __init__(self) -> None:
        self.recall: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        self.flagged: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.dark: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.crashes = 0

    def add(
        self, dataset: str, tool: str, truth: dict[str, str], found: dict[str, set[str]], codes: dict[str, str]
    ) -> None:
        """One tool's findings on one folder (`codes`: the tool's name of each defect)."""
        ordinary = [name for name, defect in truth.items() if not defect]
        for defect in DEFECTS:
            names = [n for n, d in truth.items() if d == defect]
            self.recall[(dataset, tool, defect)].append(
                float(np.mean([codes.get(defect, "-") in found.get(n, set()) for n in names]))
            )
        self.flagged[(dataset, tool)].append(float(np.mean([bool(found.get(n)) for n in ordinary])))
        self.dark[(dataset, tool)].append(float(np.mean([codes["dark"] in found.get(n, set()) for n in ordinary])))


def run_folder(dataset: str, seed: int, fences: list[float], tally: Tally) -> None:
    """Plant one folder and run every tool on it."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        truth = planted(work / "pictures", seed, **DATASETS[dataset])  # type: ignore[arg-type]
        for fence in fences:
            found = taxospec_found(work / "pictures", truth, work, fence)
            tally.add(dataset, f"taxospec fence {fence}", truth, found, CODES)
        cv, crashed = cleanvision_found(work / "pictures", truth)
        tally.crashes += crashed
        tally.add(dataset, "CleanVision", truth, cv, CLEANVISION)


def main() -> None:
    """Run the comparison and print the tables (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fences", default="1.0,1.5,2.0,3.0", help="Tukey factors to sweep")
    args = parser.parse_args()
    fences = [float(f) for f in args.fences.split(",")]
    tally = Tally()
    for dataset in DATASETS:
        for seed in range(args.seeds):
            run_folder(dataset, seed, fences, tally)
            print(f"{dataset} seed {seed} done", file=sys.stderr)
    tools = [f"taxospec fence {fence}" for fence in fences] + ["CleanVision"]
    print(f"Recall per planted defect, mean ± sd over {args.seeds} seeds; last column: share of the 80 ordinary")
    print("pictures flagged by any check (flagged dark alone in brackets)\n")
    print("| dataset | tool | " + " | ".join(DEFECTS) + " | ordinary flagged (dark) |")
    print("|---" * (len(DEFECTS) + 3) + "|")
    for dataset in DATASETS:
        for tool in tools:
            cells = [_spread(tally.recall[(dataset, tool, d)]) for d in DEFECTS]
            flagged = f"{_spread(tally.flagged[(dataset, tool)])} ({np.mean(tally.dark[(dataset, tool)]):.2f})"
            print(f"| {dataset} | {tool} | " + " | ".join(cells) + f" | {flagged} |")
    total = len(DATASETS) * args.seeds
    print(f"\nCleanVision crashed on {tally.crashes} of {total} folders (the truncated PNG); it ran again without it.")


if __name__ == "__main__":
    main()
