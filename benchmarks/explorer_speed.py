"""How the HTML explorer behaves at 10,000 and 100,000 examples, in a real headless Chromium.

For each size it writes a synthetic export (whole-image tasks of 12 classes, two axes, two splits, a few
planted defects) and precomputed embeddings (clustered vectors, look-alike classes close together), runs
`taxospec check --embeddings FILE -o report.html` (timed: the checks, the 2-D map, the page), then opens
the page from a file:// URL and measures, with the page's own clock (`performance.now`):

- **ready**: from navigation start to the explorer being interactive (parsing the data, indexing the map,
  the first draw and the first table rows);
- **draw**: one redraw of every point (zoom), the median of 10;
- **lasso**: selecting with a polygon around a quarter of the map, and refreshing the table;
- **sort**: sorting every example by label quality;
- **scroll**: rendering the table rows after a jump to its middle.

Beside them: the page's size, and `JSON.parse` of the page's data alone in the same browser (the least
any page that carries the data must spend). Loopback only; nothing is downloaded.

    .venv/bin/python benchmarks/explorer_speed.py [--sizes 10000,100000] [--pictures]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.integration.browser import page  # noqa: E402

SPEC = """taxospec: 1
name: explorer speed
unit: image
classes:
{classes}
axes:
  lighting: {{values: [day, night, dusk]}}
  distance: {{values: [near, far]}}
splits: {{field: split, values: [train, val]}}
"""


def pictures(folder: Path, n: int, seed: int = 0) -> None:
    """`n` JPEGs of 320 × 240 (a sky, a ground, a figure), as `img/{task}.jpg`."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image, ImageDraw

    (folder / "img").mkdir()
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 220, size=(n, 3, 3))

    def write(i: int) -> None:
        picture = Image.new("RGB", (320, 240), tuple(int(c) for c in colours[i, 0]))
        draw = ImageDraw.Draw(picture)
        draw.rectangle([0, 150, 320, 240], fill=tuple(int(c) for c in colours[i, 1]))
        x = 40 + (i * 37) % 240
        draw.ellipse([x, 60, x + 30, 90], fill=tuple(int(c) for c in colours[i, 2]))
        draw.line([x + 15, 90, x + 15, 170], fill=(250, 250, 250), width=5)
        picture.save(folder / "img" / f"{i + 1}.jpg", quality=85)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(n)))


def generate(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(seed)
    classes = [f"class{i:02d}" for i in range(12)]
    centres = rng.normal(size=(12, 64))
    for a in range(0, 6, 2):
        centres[a + 1] = centres[a] + 0.4 * rng.normal(size=64)
    labels = rng.integers(0, 12, size=n)
    vectors = centres[labels] + 0.5 * rng.normal(size=(n, 64))
    flipped = rng.random(n) < 0.02  # planted mislabels
    given = np.where(flipped, (labels + 1) % 12, labels)
    tasks = []
    for i in range(n):
        result = [
            {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [classes[given[i]]]}},
            {
                "from_name": "lighting",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": [["day", "night", "dusk"][i % 3]]},
            },
            {
                "from_name": "distance",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": [["near", "far"][i % 2]]},
            },
        ]
        tasks.append(
            {
                "id": i + 1,
                "data": {"image": f"img/{i + 1}.jpg", "split": "train" if i % 5 else "val"},
                "annotations": [{"id": i + 1, "result": result}],
            }
        )
    export = folder / "export.json"
    export.write_text(json.dumps(tasks))
    embeddings = folder / "embeddings.npz"
    np.savez(embeddings, task_id=np.arange(1, n + 1), region_id=np.array([""] * n), vectors=vectors.astype(np.float32))
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.format(classes="\n".join(f"  {c}: {{min_examples: 1}}" for c in classes)))
    return spec, export, embeddings


def measure(report: Path, profile: Path) -> dict[str, float]:
    with page(profile) as tab:
        tab.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        tab.call("Page.navigate", url=report.as_uri())
        if not tab.wait_for("document.body.dataset.explorer === 'ready'", seconds=300):
            raise SystemExit("the explorer did not get ready")
        out: dict[str, float] = tab.evaluate(
            """(() => {
              const x = window.taxospecExplorer, n = x.examples(), res = {};
              res.ready = performance.now();
              res.explorer_load = x.stats.loadMs;
              const text = document.getElementById('explorer-data').textContent;
              let t = performance.now(); JSON.parse(text); res.parse_only = performance.now() - t;
              const draws = []; for (let k = 0; k < 10; k++) draws.push(x.zoom(k % 2 ? 0.8 : 1.25));
              draws.sort((a, b) => a - b); res.draw = draws[5];
              const c = document.getElementById('map-canvas').getBoundingClientRect(), w = c.width, h = c.height;
              const poly = []; for (let k = 0; k < 100; k++) { const a = 2 * Math.PI * k / 100;
                poly.push([w / 2 + w / 4 * Math.cos(a), h / 2 + h / 4 * Math.sin(a)]); }
              t = performance.now(); x.selectPolygon(poly); res.lasso = performance.now() - t;
              res.selected = x.state.selected.size;
              document.getElementById('only-selected').click();
              t = performance.now(); x.sortBy('quality'); res.sort = performance.now() - t;
              const s = document.getElementById('examples-scroll');
              t = performance.now(); s.scrollTop = s.scrollHeight / 2; s.dispatchEvent(new Event('scroll'));
              res.scroll_event = performance.now() - t;
              res.points = x.pointsOnMap(); res.n = n;
              return res;
            })()"""
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--pictures",
        default="",
        help="also write a JPEG per task and make pages with these --pictures budgets (e.g. 0,2000,10000)",
    )
    options = parser.parse_args()
    budgets = [int(b) for b in options.pictures.split(",")] if options.pictures else [None]
    rows = []
    for n in (int(s) for s in options.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="taxospec-explorer-") as tmp:
            folder = Path(tmp)
            spec, export, embeddings = generate(folder, n)
            if budgets != [None]:
                pictures(folder, n)
            for budget in budgets:
                rows.append(_one(folder, n, spec, export, embeddings, budget))
    print(
        f"\n{'examples':>9} {'pictures':>8} {'check s':>8} {'page MB':>8} {'ready ms':>9} {'parse ms':>9} "
        f"{'draw ms':>8} {'lasso ms':>9} {'sort ms':>8} {'scroll ms':>10}"
    )
    for n, seconds, size, r in rows:
        shown = "-" if r["pictures"] < 0 else f"{r['pictures']:,}"
        print(
            f"{n:>9,} {shown:>8} {seconds:>8.1f} {size / 1e6:>8.1f} {r['ready']:>9.0f} {r['parse_only']:>9.0f} "
            f"{r['draw']:>8.1f} {r['lasso']:>9.1f} {r['sort']:>8.1f} {r['scroll_event']:>10.1f}"
        )


def _one(
    folder: Path, n: int, spec: Path, export: Path, embeddings: Path, budget: int | None
) -> tuple[int, float, int, dict[str, float]]:
    """One page: made (timed) and measured in the browser."""
    report = folder / f"report-{budget}.html"
    command = [sys.executable, "-m", "taxospec", "check", str(spec), str(export)]
    command += ["--embeddings", str(embeddings), "-o", str(report)]
    if budget is not None:
        command += ["--media-root", str(folder), "--pictures", str(budget)]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr[-3000:])
    result = measure(report, folder / f"profile-{budget}")
    result["pictures"] = -1 if budget is None else budget
    size = report.stat().st_size
    print(f"{n:,} examples, pictures {budget}: check {seconds:.1f} s, page {size / 1e6:.1f} MB, {result}", flush=True)
    return n, seconds, size, result


if __name__ == "__main__":
    main()
