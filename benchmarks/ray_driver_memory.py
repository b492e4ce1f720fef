"""What the driver of `taxospec embed --ray` holds per task, beside the dataset it read: the rows it plans
(one per task still to read, which Ray Data is given), and what it gathers back (the problems,
each file's path and content hash for the content memo). At tens of millions of frames these, not the
workers, decide the machine the driver needs.

For two sizes, a synthetic image export (`explorer_speed.generate`: 12 classes, two axes) is read; the
traced peak and what stays held (tracemalloc, which numpy reports to; a pyarrow result's buffers
added) are taken for each step: `plan_rows` against an empty cache (the rows Ray Data
is given; Ray itself is not started), and `collect` over one finished row per task shaped as the encoders
return them. Per task: the slope between the sizes.

    .venv/bin/python benchmarks/ray_driver_memory.py                     # ~2 min on 2 cores
    .venv/bin/python benchmarks/ray_driver_memory.py --sizes 100000 400000
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import explorer_speed


def traced(step: Callable[[], Any]) -> tuple[Any, int, int]:
    """`step()`'s result, its peak and what it left held (bytes above what was held before): Python's and
    numpy's allocations traced, and a pyarrow result's buffers (`nbytes`, added to both)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = step()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrow = int(getattr(result, "nbytes", 0))
    return result, peak - before + arrow, held - before + arrow


def finished(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One finished row per task, as the encoders hand them back (a written image of a local file)."""
    return [
        {
            "task": row["task"],
            "key": f"{row['task']:032x}:image",
            "digest": f"{row['task']:032x}",
            "code": "",
            "problem": "",
            "path": f"/mnt/footage/camera-07/2026-11-30/frames/{row['task']:09d}.jpg",
            "fps": 0.0,
            "frames": 0,
            "written": True,
        }
        for row in rows
    ]


def measure(n: int) -> dict[str, tuple[int, int]]:
    """Peak and held bytes of each driver step at `n` tasks."""
    from taxospec.embeddings.cache import EmbeddingCache
    from taxospec.embeddings.ray_stage import RayOutcome, collect, plan_rows
    from taxospec.media.sources import MediaSources
    from taxospec.spec import load_spec
    from taxospec.stages import read_export

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        spec_path, export, _ = explorer_speed.generate(folder, n)
        spec = load_spec(spec_path)
        media = MediaSources(roots={"media-root": folder})
        dataset, *dataset_cost = traced(lambda: _read(read_export, spec, export))
        cache = EmbeddingCache(folder / "cache", "model", "preprocess")
        rows, *plan_cost = traced(lambda: plan_rows(dataset, cache, media))
        back = finished(list(_as_dicts(rows)))
        _, *collect_cost = traced(lambda: _collect(collect, iter(back), RayOutcome()))
    return {"dataset": tuple(dataset_cost), "plan_rows": tuple(plan_cost), "collect": tuple(collect_cost)}


def _read(read_export: Any, spec: Any, export: Path) -> Any:
    """The dataset with what the driver reads of it made (its columns, the tasks' media)."""
    dataset = read_export(spec, export, None)
    dataset.columns  # noqa: B018
    dataset.items.media  # noqa: B018
    return dataset


def _collect(collect: Any, rows: Any, outcome: Any) -> Any:
    """`collect` as the driver calls it, with what it learnt of each file kept (the memo's cost, apart)."""
    try:
        return collect(rows, outcome, lambda count: None, lambda row: None)
    except TypeError:  # (before the content memo was written as rows came back: the outcome kept them)
        return collect(rows, outcome, lambda count: None)


def _as_dicts(rows: Any) -> Any:
    """The planned rows as dicts (a list of them, or a pyarrow table's)."""
    return rows.to_pylist() if hasattr(rows, "to_pylist") else rows


def main() -> None:
    """Print one markdown row per step: peak and held per task, and held at 36 and 100 million tasks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100_000, 200_000])
    args = parser.parse_args()
    small, large = args.sizes
    measure(1_000)  # (the first call's imports and one-off allocations, out of the slope)
    low, high = measure(small), measure(large)
    print("| step | peak per task | held per task | held at 36 M | held at 100 M |")
    print("|---|---:|---:|---:|---:|")
    for step in low:
        peak = (high[step][0] - low[step][0]) / (large - small)
        held = (high[step][1] - low[step][1]) / (large - small)
        at = [f"{held * tasks / 2**30:.1f} GiB" for tasks in (36e6, 1e8)]
        print(f"| {step} | {peak:.0f} B | {held:.0f} B | {' | '.join(at)} |")


if __name__ == "__main__":
    main()
