"""Memory and time of a whole `taxospec check` with embeddings, by size: what the checks (not only the
neighbour search) hold per example, to say where one machine ends.

For each size, a synthetic export (12 classes, two axes, two splits, 2 % planted mislabels) with
precomputed CLIP-like embeddings (D = 512, clustered, look-alike class pairs) — the `explorer_speed.py`
generator at CLIP's width — is checked in a fresh process (`taxospec check --embeddings FILE --format json
-o …`); its wall time and peak resident memory are recorded, and the per-example cost fitted (least
squares over the sizes) to extrapolate.

    .venv/bin/python benchmarks/check_memory.py --sizes 25000,50000,100000,200000     # ~10 min on 2 cores
    .venv/bin/python benchmarks/check_memory.py --unit --sizes 100000,200000,1000000  # unit rows, as CLIP's
    .venv/bin/python benchmarks/check_memory.py --unit --float16 --sizes 1000000,2000000  # as the cache holds them
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import explorer_speed

D = 512


def generate(folder: Path, n: int, unit: bool = False, half: bool = False) -> tuple[Path, Path, Path]:
    """The explorer benchmark's data, with 512-wide embeddings (`unit`: rows of length 1, as CLIP's from
    the cache and most teams' exports are; `half`: stored in float16, as the cache stores them)."""
    spec, export, embeddings = explorer_speed.generate(folder, n)
    rng = np.random.default_rng(1)
    with np.load(embeddings) as data:
        small = data["vectors"]
    lift = rng.normal(size=(small.shape[1], D)).astype(np.float32) / np.sqrt(small.shape[1])
    stored = np.empty((n, D), dtype=np.float16 if half else np.float32)
    for start in range(0, n, 100_000):  # (the same draws as all rows at once, without an n-by-D float64 array)
        rows = slice(start, min(n, start + 100_000))
        wide = small[rows] @ lift + 0.3 * rng.normal(size=(rows.stop - start, D)).astype(np.float32)
        if unit:
            wide /= np.linalg.norm(wide, axis=1, keepdims=True)
        stored[rows] = wide
    np.savez(embeddings, task_id=np.arange(1, n + 1), region_id=np.array([""] * n), vectors=stored)
    return spec, export, embeddings


def run(folder: Path, n: int, unit: bool = False, half: bool = False) -> tuple[float, float]:
    """Seconds and peak resident GiB of one check of `n` examples."""
    spec, export, embeddings = generate(folder, n, unit, half)
    command = [sys.executable, "-m", "taxospec", "check", str(spec), str(export), "--embeddings", str(embeddings)]
    command += ["--format", "json", "-o", str(folder / "report.json")]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr[-2000:])
    json.loads((folder / "report.json").read_text())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return seconds, peak


def main() -> None:
    """Measure every size (smallest first: the children's peak is the latest's) and fit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25000,50000,100000,200000")
    parser.add_argument("--unit", action="store_true", help="rows of length 1 (CLIP's, as the cache holds them)")
    parser.add_argument("--float16", action="store_true", help="the file in float16 (as the cache stores vectors)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows = []
    print("| examples | wall time | peak memory |")
    print("|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, peak = run(Path(tmp), n, args.unit, args.float16)
        rows.append((n, seconds, peak))
        print(f"| {n:,} | {seconds:.0f} s | {peak:.2f} GiB |", flush=True)
    ns = np.array([r[0] for r in rows], dtype=float)
    memory = np.polyfit(ns, [r[2] for r in rows], 1)
    seconds = np.polyfit(ns, [r[1] for r in rows], 1)
    per_example = memory[0] * 2**30
    print(f"\nfit: {per_example / 1024:.1f} KiB and {seconds[0] * 1e6:.0f} µs per example (+ {memory[1]:.2f} GiB)")
    for n in (1_000_000, 10_000_000):
        print(f"extrapolated to {n:,}: {np.polyval(memory, n):.0f} GiB (time grows faster than linearly: see README)")


if __name__ == "__main__":
    main()
