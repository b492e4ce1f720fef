"""Memory and time of a whole `taxospec check` with embeddings, by size: what the checks (not only the
neighbour search) hold per example, to say where one machine ends.

For each size, a synthetic export (12 classes, two axes, two splits, 2 % planted mislabels) with
precomputed CLIP-like embeddings (D = 512, clustered, look-alike class pairs) — the `explorer_speed.py`
generator at CLIP's width — is checked in a fresh process (`taxospec check --embeddings FILE --format json
-o …`); its wall time, its peak resident memory and its peak anonymous memory are recorded, and the
per-example cost fitted (least squares over the sizes) to extrapolate. Anonymous memory is what the
process alone holds; above `MAP_ABOVE` rows the space's vectors are memory-mapped from a temporary file,
and their pages count as resident while they are read but are the kernel's to drop. `--limit GIB` runs the
check in a memory cgroup of that size (page cache included, as the kernel charges it; root and cgroup v1
here): proof that it runs in that much memory, not an estimate.

    .venv/bin/python benchmarks/check_memory.py --sizes 25000,50000,100000,200000     # ~10 min on 2 cores
    .venv/bin/python benchmarks/check_memory.py --unit --sizes 100000,200000,1000000  # unit rows, as CLIP's
    .venv/bin/python benchmarks/check_memory.py --unit --float16 --sizes 1000000,2000000  # as the cache holds them
    .venv/bin/python benchmarks/check_memory.py --unit --float16 --sizes 2000000 --limit 4  # in a 4 GiB cgroup
    .venv/bin/python benchmarks/check_memory.py --unit --float16 --sq8 --sizes 1000000,2000000  # 10 M's index
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import explorer_speed

D = 512
EIGHT_BIT = (
    "import sys; from taxospec.embeddings import index; index.EIGHT_BIT_ABOVE = 0; "
    "from taxospec.cli import main; sys.argv[0] = 'taxospec'; main()"
)
"""The check with the inverted file a space above 5 million vectors gets (IVF-SQ8), at any size."""


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


@dataclass
class Measured:
    """One check's wall time, peak resident and peak anonymous memory (GiB), and how it ended."""

    seconds: float
    resident: float
    anonymous: float
    limit_hits: int = 0
    """Times the cgroup's limit was reached (the kernel then reclaimed page cache), with `--limit`."""


def run(
    folder: Path, n: int, unit: bool = False, half: bool = False, limit: float | None = None, eight_bit: bool = False
) -> Measured:
    """One check of `n` examples, its anonymous memory sampled every 20 ms (in a memory cgroup of `limit`
    GiB where one is given; with the 8-bit inverted file of a space above `EIGHT_BIT_ABOVE` where
    `eight_bit`)."""
    spec, export, embeddings = generate(folder, n, unit, half)
    command = [sys.executable, "-c", EIGHT_BIT if eight_bit else "from taxospec.cli import main; main()"]
    command += ["check", str(spec), str(export), "--embeddings", str(embeddings)]
    command += ["--format", "json", "-o", str(folder / "report.json")]
    group = _cgroup(limit) if limit is not None else None
    if group is not None:  # the files' pages, cached when they were written, are charged to the check's group
        for written in (export, embeddings):
            _drop_cached(written)
    enter = (lambda: (group / "cgroup.procs").write_text(str(os.getpid()))) if group is not None else None
    began = time.perf_counter()
    log = folder / "stderr.txt"
    with log.open("wb") as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=enter)
    anonymous = resident = 0.0
    while child.poll() is None:
        status = _status(child.pid)
        anonymous = max(anonymous, status.get("RssAnon", 0.0))
        resident = max(resident, status.get("VmHWM", 0.0))
        time.sleep(0.02)
    seconds = time.perf_counter() - began
    hits = int((group / "memory.failcnt").read_text()) if group is not None else 0
    if group is not None:
        group.rmdir()
    if child.returncode not in (0, 1):
        raise SystemExit(f"exit {child.returncode}: {log.read_text()[-2000:]}")
    json.loads((folder / "report.json").read_text())
    return Measured(seconds, resident, anonymous, hits)


def _status(pid: int) -> dict[str, float]:
    """The memory lines of /proc/PID/status, in GiB (empty once the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) / 2**20 for k, v in (line.split(":", 1) for line in lines) if v.strip().endswith("kB")}


def _drop_cached(path: Path) -> None:
    """`path`'s pages out of the page cache (written to disk first), so that the next reader loads them."""
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def _cgroup(limit: float) -> Path:
    """A fresh memory cgroup (v1) limited to `limit` GiB."""
    root = Path("/sys/fs/cgroup/memory")
    if not (root / "memory.limit_in_bytes").exists():
        raise SystemExit("--limit needs the cgroup v1 memory controller at /sys/fs/cgroup/memory (and root)")
    group = root / f"taxospec-check-memory-{os.getpid()}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(int(limit * 2**30)))
    return group


def main() -> None:
    """Measure every size and fit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25000,50000,100000,200000")
    parser.add_argument("--unit", action="store_true", help="rows of length 1 (CLIP's, as the cache holds them)")
    parser.add_argument("--float16", action="store_true", help="the file in float16 (as the cache stores vectors)")
    parser.add_argument("--limit", type=float, help="run each check in a memory cgroup of this many GiB")
    parser.add_argument("--sq8", action="store_true", help="the 8-bit inverted file of a space above 5 M, at any size")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows = []
    print("| examples | wall time | peak resident | peak anonymous |" + (" limit reached |" if args.limit else ""))
    print("|---:|---:|---:|---:|" + ("---:|" if args.limit else ""))
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            m = run(Path(tmp), n, args.unit, args.float16, args.limit, args.sq8)
        rows.append((n, m))
        hits = f" {m.limit_hits} times |" if args.limit else ""
        print(f"| {n:,} | {m.seconds:.0f} s | {m.resident:.2f} GiB | {m.anonymous:.2f} GiB |{hits}", flush=True)
    if len(rows) < 2:
        return
    ns = np.array([n for n, _ in rows], dtype=float)
    seconds = np.polyfit(ns, [m.seconds for _, m in rows], 1)
    print(f"\nfit: {seconds[0] * 1e6:.0f} µs per example (time grows faster than linearly: see README)")
    for name, values in (("resident", [m.resident for _, m in rows]), ("anonymous", [m.anonymous for _, m in rows])):
        memory = np.polyfit(ns, values, 1)
        print(
            f"fit, {name}: {memory[0] * 2**30 / 1024:.2f} KiB per example (+ {memory[1]:.2f} GiB); "
            f"extrapolated to 10,000,000: {np.polyval(memory, 10_000_000):.1f} GiB"
        )


if __name__ == "__main__":
    main()
