"""A whole `taxospec check` with the embedding checks, run again with nothing new, against baselines in one run.

Each in a fresh interpreter, on the synthetic-signals demo (308 images, its committed small CLIP), offline:

- **import baseline**: `import torch, open_clip` — what any tool that loads a CLIP model pays before it
  has done anything;
- **cold**: `taxospec check` with an empty cache (the model is loaded; every image and prompt encoded);
- **re-run**: the same again (nothing new: taxospec loads no model and imports neither library).

Target: the re-run below the import baseline (a re-run costs less than merely loading the model's libraries).

    .venv/bin/python benchmarks/cli_rerun.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "synthetic-signals"


def _timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode not in (0, 1):  # 1: findings at --fail-on
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (the best is kept)")
    options = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    taxospec = [str(Path(sys.executable).parent / "taxospec")]
    imports = min(_timed([sys.executable, "-c", "import torch, open_clip"], env) for _ in range(options.repeat))
    colds, reruns = [], []
    for _ in range(options.repeat):
        with tempfile.TemporaryDirectory(prefix="taxospec-rerun-") as cache:
            check = [*taxospec, "check", str(DEMO / "spec.yaml"), str(DEMO / "export.json")]
            check += ["--ls-document-root", str(DEMO), "--cache-dir", cache, "--device", "cpu"]
            check += ["--format", "json", "-o", str(Path(cache) / "report.json")]
            colds.append(_timed(check, env))
            reruns.append(min(_timed(check, env) for _ in range(2)))
    cold, rerun = min(colds), min(reruns)
    print(f"synthetic-signals demo, {os.cpu_count()} cores, best of {options.repeat}")
    print(f"import torch, open_clip      {imports:6.2f} s   (baseline)")
    print(f"taxospec check, cold cache   {cold:6.2f} s")
    print(
        f"taxospec check, re-run       {rerun:6.2f} s   {rerun / cold:6.1%} of cold, {rerun / imports:.2f}× the import"
    )


if __name__ == "__main__":
    main()
