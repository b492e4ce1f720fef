"""How fast and how lean is `taxospec check` (rules only) on a large export, against baselines in one run.

Generates a synthetic Label Studio JSON export (default: 200,000 tasks, 1,000,000 box regions, each with
a per-region attribute, in the exact export envelope), then times, each in a fresh process:

- baseline: `json.load` of the file (the least any tool that parses the export must spend);
- taxospec: `taxospec check SPEC EXPORT --format json -o report.json` (read, normalize, every rule check,
  write the report);
- peer: label-studio-sdk's own converter, JSON → JSON_MIN (`Converter.convert_to_json_min`).

and reports wall time, the ratio to `json.load`, and peak RSS (against the file size). Targets: check ≤ 2×
the time of `json.load`, peak RSS ≤ 1.5× the file size.

    .venv/bin/python benchmarks/check_vs_json_load.py [--tasks 200000] [--regions 5] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """taxospec: 1
name: benchmark
media: image
unit: box
classes:
  car: {hard_negatives: [van], min_examples: 1000, prompts: [a car, a photo of a car]}
  truck: {hard_negatives: [van], min_examples: 1000, prompts: [a truck, a lorry]}
  van: {role: negative, min_examples: 1000}
axes:
  scene: {values: [day, night, dusk]}
  occluded: {values: ['yes', 'no'], scope: region}
coverage:
  combinations:
    - {axes: [scene, occluded], min: 100}
splits: {field: split, values: [train, val], group_by: site}
labelstudio: {class_control: bbox}
"""

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="bbox" toName="image">
    <Label value="car"/><Label value="truck"/><Label value="van"/>
  </RectangleLabels>
  <Choices name="scene" toName="image" choice="single">
    <Choice value="day"/><Choice value="night"/><Choice value="dusk"/>
  </Choices>
  <Choices name="occluded" toName="image" perRegion="true" choice="single">
    <Choice value="yes"/><Choice value="no"/>
  </Choices>
</View>
"""

REGION = (
    '{{"id": "{rid}", "from_name": "bbox", "to_name": "image", "type": "rectanglelabels", "origin": "manual", '
    '"original_width": 1920, "original_height": 1080, "image_rotation": 0, "value": {{"x": {x}, "y": {y}, '
    '"width": {w}, "height": {h}, "rotation": 0, "rectanglelabels": ["{label}"]}}}}, '
    '{{"id": "{rid}", "from_name": "occluded", "to_name": "image", "type": "choices", "origin": "manual", '
    '"original_width": 1920, "original_height": 1080, "image_rotation": 0, "value": {{"x": {x}, "y": {y}, '
    '"width": {w}, "height": {h}, "rotation": 0, "choices": ["{occluded}"]}}}}'
)
TASK = (
    '{{"id": {id}, "annotations": [{{"id": {id}, "completed_by": 1, "result": [{{"id": "s{id}", "from_name": '
    '"scene", "to_name": "image", "type": "choices", "origin": "manual", "value": {{"choices": ["{scene}"]}}}}, '
    '{regions}], "was_cancelled": false, "ground_truth": false, "created_at": "2026-10-01T10:00:00.000000Z", '
    '"updated_at": "2026-10-01T10:00:05.000000Z", "draft_created_at": null, "lead_time": 12.5, "prediction": {{}}, '
    '"result_count": 0, "unique_id": "00000000-0000-4000-8000-{id:012d}", "import_id": null, "last_action": null, '
    '"bulk_created": false, "task": {id}, "project": 1, "updated_by": 1, "parent_prediction": null, '
    '"parent_annotation": null, "last_created_by": null}}], "drafts": [], "predictions": [], "data": {{"image": '
    '"/data/local-files/?d=site{site}/img{id:07d}.jpg", "split": "{split}", "site": "site{site}"}}, "meta": {{}}, '
    '"created_at": "2026-10-01T09:00:00.000000Z", "updated_at": "2026-10-01T10:00:05.000000Z", "allow_skip": true, '
    '"inner_id": {id}, "total_annotations": 1, "cancelled_annotations": 0, "total_predictions": 0, "comment_count": 0, '
    '"unresolved_comment_count": 0, "last_comment_updated_at": null, "project": 1, "updated_by": null, '
    '"comment_authors": []}}'
)


def generate(path: Path, tasks: int, regions: int, seed: int = 1) -> None:
    """Write a synthetic export with `tasks` tasks of `regions` boxes each."""
    rng = random.Random(seed)
    labels, scenes, occluded = ["car", "car", "truck", "van"], ["day", "night", "dusk"], ["yes", "no"]
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for task_id in range(1, tasks + 1):
            parts = []
            for r in range(regions):
                w, h = round(2 + rng.random() * 20, 3), round(2 + rng.random() * 20, 3)
                parts.append(
                    REGION.format(
                        rid=f"{task_id:07d}{r:03d}",
                        x=round(rng.random() * (98 - w), 3),
                        y=round(rng.random() * (98 - h), 3),
                        w=w,
                        h=h,
                        label=labels[rng.randrange(4)],
                        occluded=occluded[rng.randrange(2)],
                    )
                )
            site = task_id % 500
            out.write(
                TASK.format(
                    id=task_id,
                    scene=scenes[task_id % 3],
                    regions=", ".join(parts),
                    site=site,
                    split="val" if site % 5 == 0 else "train",
                )
            )
            out.write(",\n" if task_id < tasks else "\n")
        out.write("]\n")


RUNNER = """
import resource, sys, time, json
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""

BODIES = {
    "json.load": "with open(sys.argv[1], 'rb') as f: json.load(f)",
    "taxospec check": (
        "from taxospec.cli import cli\n"
        "try:\n"
        "    args = ['check', sys.argv[2], sys.argv[1], '--format', 'json', '-o', sys.argv[3]]\n"
        "    cli.main(args, standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass"
    ),
    "label-studio-sdk JSON→JSON_MIN": (
        "import logging; logging.disable(logging.WARNING)\n"
        "from label_studio_sdk.converter import Converter\n"
        "Converter(config=sys.argv[4], project_dir=sys.argv[5], download_resources=False)"
        ".convert_to_json_min(sys.argv[1], sys.argv[5], is_dir=False)"
    ),
}


def measure(name: str, args: list[str], timeout: float) -> dict[str, float] | None:
    """Run one measurement in a fresh interpreter; None when it ran past `timeout` seconds."""
    code = RUNNER.format(body=BODIES[name])
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, check=True
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--regions", type=int, default=5, help="regions per task")
    parser.add_argument("--peer-timeout", type=float, default=900, help="seconds allowed to the SDK converter")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated export")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taxospec-bench-") as folder:
        root = Path(folder)
        export, spec, config, report = root / "export.json", root / "spec.yaml", root / "project.xml", root / "r.json"
        spec.write_text(SPEC)
        config.write_text(CONFIG)
        began = time.perf_counter()
        generate(export, options.tasks, options.regions)
        size = export.stat().st_size
        print(
            f"export: {options.tasks:,} tasks, {options.tasks * options.regions:,} regions, {size / 1e6:,.0f} MB "
            f"(generated in {time.perf_counter() - began:.0f} s)"
        )
        args = [str(export), str(spec), str(report), str(config), str(root / "sdk")]
        (root / "sdk").mkdir()
        names = list(BODIES) if not options.skip_peer else list(BODIES)[:2]
        results = {}
        for name in names:
            timeout = options.peer_timeout if name.startswith("label-studio") else 3600
            results[name] = measure(name, args, timeout)
        base = results["json.load"]
        assert base is not None
        print(f"\n{'':34} {'seconds':>9} {'× json.load':>12} {'peak RSS':>10} {'× file size':>12}")
        for name, result in results.items():
            if result is None:
                print(f"{name:34} {'> ' + str(int(options.peer_timeout)):>9} {'':>12} {'':>10} {'':>12}")
                continue
            print(
                f"{name:34} {result['seconds']:9.1f} {result['seconds'] / base['seconds']:12.2f} "
                f"{result['peak_rss'] / 1e6:8.0f} MB {result['peak_rss'] / size:12.2f}"
            )
        if not report.exists():
            print("\ntaxospec wrote no report: it refused the export (one task above its bound?)")
        else:
            findings = json.loads(report.read_text())["summary"]
            print(f"\ntaxospec read {findings['samples']:,} examples; findings {findings['findings']}")
        if options.keep:
            kept = Path.cwd() / "benchmark-export.json"
            os.replace(export, kept)
            print(f"kept {kept}")


if __name__ == "__main__":
    main()
