"""The synthetic-signals demo's deployment sample and pool, measured against what was planted in them
(`planted-deployment.json`): for the integration test (several seeds) and `benchmarks/deployment_coverage.py`.

Planted: in deploy/gate-1, figures far away (the labeled data has close and medium only) and timeouts at
night in front of a crowd; deploy/gate-2 is a darker camera; in pool/, far figures and night-crowd
timeouts are what labeling would fill, the rest is like the labeled data.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEMO = Path(__file__).resolve().parents[1] / "examples" / "synthetic-signals"
SEED = 5
"""The committed demo's seed."""


def demo(seed: int, folder: Path) -> Path:
    """The demo (images and deployment) rendered for `seed` under `folder` (the committed one for its seed)."""
    if seed == SEED:
        return DEMO
    out = folder / f"seed-{seed}"
    if not (out / "planted-deployment.json").exists():
        command = [sys.executable, str(DEMO / "make_demo.py"), "--seed", str(seed), "--out", str(out)]
        subprocess.run([*command, "--only", "images,deployment"], check=True, capture_output=True)
    return out


@dataclass(frozen=True)
class Measured:
    """What the deployment analysis found on one demo, against what was planted."""

    far_uncovered: float
    """Share of the planted far pictures judged uncovered."""
    night_crowd_uncovered: float
    ordinary_uncovered: float
    """Share of gate-1's ordinary pictures (like the labeled data) judged uncovered: the false alarms."""
    darker_uncovered: float
    far_scenario: bool
    """Whether a scenario of gate-1 is described as mostly distance=far."""
    darker_flagged: bool
    """Whether `deployment-quality-shift` says gate-2 is darker."""
    shift_auc: dict[str, float | None]


def run(folder: Path, cache: Path, fence: float = 1.5) -> Any:
    """`taxospec check`'s report on the demo in `folder`, with the deployment sample (at `fence`)."""
    from taxospec import check, load_spec
    from taxospec.media.sources import MediaSources

    os.environ["HF_HUB_OFFLINE"] = "1"
    spec = load_spec(folder / "spec-deployment.yaml")
    if spec.deployment is not None and fence != spec.deployment.fence:
        spec = replace_fence(spec, fence)
    media = MediaSources(roots={"ls-document-root": folder})
    return check(spec, folder / "export.json", media=media, cache_dir=cache, device="cpu")


def replace_fence(spec: Any, fence: float) -> Any:
    """`spec` with `deployment.fence` set to `fence` (its source kept, for relative paths)."""
    changed = spec.model_copy(update={"deployment": spec.deployment.model_copy(update={"fence": fence})})
    changed._source = spec.source
    return changed


def measure(folder: Path, report: Any) -> Measured:
    """The report's deployment section against the plant in `folder`."""
    planted = json.loads((folder / "planted-deployment.json").read_text())
    summary = report.deployment
    uncovered = _uncovered(folder, report)
    gate_1 = sorted(str(p.relative_to(folder)) for p in (folder / "deploy" / "gate-1").glob("*.png"))
    gate_2 = sorted(str(p.relative_to(folder)) for p in (folder / "deploy" / "gate-2").glob("*.png"))
    special = set(planted["far"]) | set(planted["night-crowd"])
    ordinary = [name for name in gate_1 if name not in special]
    shifts = [f.message for f in report.findings if f.code == "deployment-quality-shift" and f.value == "gate-2"]
    return Measured(
        far_uncovered=_share(planted["far"], uncovered),
        night_crowd_uncovered=_share(planted["night-crowd"], uncovered),
        ordinary_uncovered=_share(ordinary, uncovered),
        darker_uncovered=_share(gate_2, uncovered),
        far_scenario=any(s.sample == "gate-1" and s.conditions.get("distance") == "far" for s in summary.scenarios),
        darker_flagged=any("darker" in message for message in shifts),
        shift_auc={s.name: s.shift_auc for s in summary.samples},
    )


def _uncovered(folder: Path, report: Any) -> set[str]:
    """The deployment pictures judged uncovered (paths relative to `folder`)."""
    root = folder.resolve()
    return {Path(p).resolve().relative_to(root).as_posix() for p in report.deployment.uncovered_pictures}


def _share(names: list[str], chosen: set[str]) -> float:
    return float(np.mean([name in chosen for name in names])) if names else 0.0


def pool_precision(picks: list[str], folder: Path, k: int) -> float:
    """Share of the first `k` picks (paths) that are planted useful pool pictures."""
    useful = set(json.loads((folder / "planted-deployment.json").read_text())["pool-useful"])
    top = [Path(p).as_posix() for p in picks[:k]]
    return float(np.mean([any(p.endswith(u) for u in useful) for p in top])) if top else 0.0


def random_precision(folder: Path, k: int, seed: int) -> float:
    """The same share for `k` pool pictures picked at random."""
    pool = sorted(p.name for p in (folder / "pool").glob("*.png"))
    useful = {Path(u).name for u in json.loads((folder / "planted-deployment.json").read_text())["pool-useful"]}
    chosen = random.Random(seed).sample(pool, min(k, len(pool)))
    return float(np.mean([p in useful for p in chosen]))


def label_next(folder: Path, cache: Path, k: int) -> tuple[list[str], list[str]]:
    """The first `k` pool pictures (paths) `taxospec todo --pool` picks, and those picked by zero-shot
    matching alone: the same greedy ranking over the same to-do items, each deployment scenario matched by
    its zero-shot conditions instead of by the embedding coverage."""
    from taxospec import load_spec
    from taxospec.api import read_export, todo
    from taxospec.checks.base import CheckContext
    from taxospec.checks.embedding_view import view_of
    from taxospec.deployment.describe import zero_shot
    from taxospec.deployment.label_next import duplicate_distance
    from taxospec.deployment.pool import PoolView, rank_pool
    from taxospec.deployment.run import embed_unlabeled
    from taxospec.deployment.sources import pool_media
    from taxospec.media.sources import MediaSources
    from taxospec.stages import build_embeddings

    os.environ["HF_HUB_OFFLINE"] = "1"
    spec = load_spec(folder / "spec-deployment.yaml")
    media = MediaSources(roots={"ls-document-root": folder})
    options = {"cache_dir": cache, "device": "cpu", "batch_size": 32, "progress": False}
    listed = todo(
        spec, folder / "export.json", media=media, cache_dir=cache, device="cpu", pool=str(folder / "pool"), pool_size=k
    )
    picks = [p.media for p in listed.label_next or []]
    dataset = read_export(spec, folder / "export.json")
    space = build_embeddings(dataset, media=media, **options)
    pool = embed_unlabeled(
        spec, [pool_media(str(folder / "pool"), lambda path: read_export(spec, path), None, 10**6)], options
    )
    guesses = zero_shot(spec, space.texts, pool.vectors)
    items = [i.model_copy(update={"kind": "scenario"}) if i.kind == "deployment" else i for i in listed.items]
    view = PoolView(pool.vectors, pool.uris, list(pool.task_ids), guesses, list(guesses.classes or []), {})
    context = CheckContext(dataset, space)
    apart = duplicate_distance(context, view_of(context).index)
    alone = [p.media for p in rank_pool(spec, items, view, k, apart)]
    return picks, alone


__all__ = ["DEMO", "Measured", "demo", "label_next", "measure", "pool_precision", "random_precision", "run"]
