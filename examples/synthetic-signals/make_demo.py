"""Build the synthetic-signals demo: render the images (media/) and write a Label Studio export
(export.json) with defects planted at known tasks (planted.json), for the embedding checks to find; also
the box version (export-boxes.json) and the video version (clips/, export-clips.json).

    .venv/bin/python examples/synthetic-signals/make_demo.py                   # the committed demo (seed 5)
    .venv/bin/python examples/synthetic-signals/make_demo.py --seed 11 --out /tmp/demo-11

Another seed renders other scenes and plants the defects at other tasks, with the same plan: the
integration test measures the planted defects on several seeds, not on the one the demo was made with.
A folder other than this one gets the specs and the model too (by path), so that `taxospec check
OUT/spec.yaml OUT/export.json --ls-document-root OUT` runs there.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from lsexport import ExportWriter, choices  # noqa: E402
from scenes import BYSTANDERS, DISTANCE, LIGHTING, Scene, random_scene, render  # noqa: E402

PLAN = {"timeout": 120, "waving": 90, "clapping": 90}
SEED = 5


def images(seed: int = SEED, out: Path = HERE) -> None:
    """The image version: media/img_*.png, export.json and planted.json in `out`."""
    rng = random.Random(seed)
    media = out / "media"
    media.mkdir(parents=True, exist_ok=True)
    for old in media.glob("img_*.png"):
        old.unlink()
    writer = ExportWriter(project=12, seed=seed)
    planted: dict[str, list[int]] = {
        "likely-mislabel": [],
        "near-duplicate": [],
        "duplicate-across-splits": [],
        "axis-value-disputed": [],
        "outlier": [],
    }
    count = 0

    def add(scene: Scene, label: str, *, split: str, lighting: str | None = None, image: str | None = None) -> int:
        nonlocal count
        count += 1
        name = image or f"img_{count:04d}.png"
        if image is None:
            render(scene).save(media / name)
        result = [
            choices("label", "image", label),
            choices("lighting", "image", lighting or scene.lighting),
            choices("distance", "image", scene.distance),
            choices("bystanders", "image", scene.bystanders),
        ]
        session = f"s{(count % 8) + (8 if split == 'val' else 0):02d}"
        task = writer.task(
            {"image": f"/data/local-files/?d=media/{name}", "split": split, "session": session},
            [writer.annotation(0, result)],
        )
        return int(task["id"])

    scenes: list[tuple[Scene, str]] = []
    for gesture, n in PLAN.items():
        for i in range(n):
            while True:
                scene = random_scene(
                    rng,
                    gesture=gesture,
                    lighting=LIGHTING[i % 3],
                    bystanders=BYSTANDERS[(i // 3) % 3],
                    distance=DISTANCE[(i // 9) % 2],
                )  # close and medium: the gesture is visible
                if not (gesture == "timeout" and scene.lighting == "night" and scene.bystanders == "crowd"):
                    break  # planted: no timeout at night in front of a crowd
                scene = random_scene(rng, gesture=gesture, lighting="day", bystanders="crowd", distance="medium")
                break
            scenes.append((scene, gesture))
    rng.shuffle(scenes)
    for i, (scene, gesture) in enumerate(scenes):
        split = "val" if i % 5 == 4 else "train"
        label, lighting = gesture, None
        if gesture == "waving" and len([t for t in planted["likely-mislabel"]]) < 5 and i % 7 == 0:
            label = "timeout"  # planted: a wave labeled as a timeout
        elif gesture == "timeout" and i % 11 == 0 and len(planted["likely-mislabel"]) < 8:
            label = "clapping"  # planted: a timeout labeled as clapping
        elif scene.lighting == "night" and i % 9 == 0 and len(planted["axis-value-disputed"]) < 5:
            lighting = "day"  # planted: a night picture tagged as day
        task = add(scene, label, split=split, lighting=lighting)
        if label != gesture:
            planted["likely-mislabel"].append(task)
        if lighting is not None:
            planted["axis-value-disputed"].append(task)
        if i in (10, 40, 70, 100):  # planted: the same picture uploaded again under another name, same split
            planted["near-duplicate"].append(task)
            add(scene, label, split=split)
        if i in (20, 130):  # planted: the same picture in the other split
            planted["duplicate-across-splits"].append(task)
            add(scene, label, split="val" if split == "train" else "train")
    for _ in range(2):  # planted: pictures that are not what the project is about
        count += 1
        noise = _noise(rng)
        name = f"img_{count:04d}.png"
        noise.save(media / name)
        result = [
            choices("label", "image", "timeout"),
            choices("lighting", "image", "day"),
            choices("distance", "image", "medium"),
            choices("bystanders", "image", "none"),
        ]
        task = writer.task(
            {"image": f"/data/local-files/?d=media/{name}", "split": "train", "session": "s01"},
            [writer.annotation(0, result)],
        )
        planted["outlier"].append(int(task["id"]))
    writer.write(out / "export.json")
    (out / "planted.json").write_text(json.dumps(planted, indent=2) + "\n")
    print(
        f"wrote {count} images, export.json and planted.json: " + ", ".join(f"{k} {len(v)}" for k, v in planted.items())
    )


def _noise(rng: random.Random) -> object:
    """A noise picture from `rng` (grey, each pixel Gaussian around mid-grey): seeded as the rest is."""
    from PIL import Image

    pixels = bytes(min(255, max(0, int(rng.gauss(128, 90)))) for _ in range(64 * 64))
    return Image.frombytes("L", (64, 64), pixels).convert("RGB")


def boxes(seed: int = SEED, out: Path = HERE) -> None:
    """A box version of the demo: one box around the figure of each of the first 150 pictures, and boxes
    planted on bare sky (background only) for `box-background-action`."""
    from scenes import render_with_box

    rng = random.Random(seed + 1)
    (out / "media").mkdir(parents=True, exist_ok=True)
    writer = ExportWriter(project=13, seed=seed + 1)
    planted: list[int] = []
    for i in range(150):
        gesture = ("timeout", "waving", "clapping")[i % 3]
        scene = random_scene(rng, gesture=gesture, distance=("close", "medium")[i % 2], bystanders="none")
        image, (x0, y0, x1, y1) = render_with_box(scene)
        name = f"box_{i:04d}.png"
        image.save(out / "media" / name)
        background = i % 30 == 7  # planted: a box on bare sky, the figure left out
        if background:
            x0, y0, x1, y1 = (1.0, 1.0, 15.0, 15.0) if x0 > 20 else (48.0, 1.0, 62.0, 15.0)
        rid = writer.region_id()
        box = {
            "id": rid,
            "from_name": "label",
            "to_name": "image",
            "type": "rectanglelabels",
            "original_width": 64,
            "original_height": 64,
            "image_rotation": 0,
            "value": {
                "x": x0 / 0.64,
                "y": y0 / 0.64,
                "width": (x1 - x0) / 0.64,
                "height": (y1 - y0) / 0.64,
                "rotation": 0,
                "rectanglelabels": [gesture],
            },
        }
        task = writer.task({"image": f"/data/local-files/?d=media/{name}"}, [writer.annotation(0, [box])])
        if background:
            planted.append(int(task["id"]))
    writer.write(out / "export-boxes.json")
    (out / "planted-boxes.json").write_text(json.dumps({"box-background-action": planted}, indent=2) + "\n")
    print(f"wrote export-boxes.json: {len(planted)} background-only boxes planted")


def clips(seed: int = SEED, out: Path = HERE) -> None:
    """A video version: 2-second clips (10 fps) where the signal is held from frame 7 to 16 and the arms hang
    down before and after; a tight segment spans the signal, planted loose ones span the whole clip."""
    import dataclasses

    import av
    import numpy as np
    from lsexport import timeline

    rng = random.Random(seed + 2)
    folder = out / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.mp4"):
        old.unlink()
    writer = ExportWriter(project=14, seed=seed + 2)
    planted: list[int] = []
    for i in range(60):
        gesture = ("timeout", "waving", "clapping")[i % 3]
        scene = random_scene(rng, gesture=gesture, distance=("close", "medium")[i % 2], bystanders="none")
        idle = dataclasses.replace(scene, gesture="idle")
        name = f"clip_{i:03d}.mp4"
        with av.open(str(folder / name), mode="w") as container:
            stream = container.add_stream("mpeg4", rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            stream.bit_rate = 4_000_000  # near-lossless: compression artifacts would look like motion
            for frame in range(1, 21):
                picture = render(scene if 7 <= frame <= 16 else idle)
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        loose = i % 12 == 0  # planted: a timeout segment that runs from the first to the last frame
        start, end = (1, 20) if loose else (7, 16)
        result = [timeline("label", writer.region_id(), start, end, gesture)]
        task = writer.task({"video": f"/data/local-files/?d=clips/{name}"}, [writer.annotation(0, result)])
        if loose:
            planted.append(int(task["id"]))
    writer.write(out / "export-clips.json")
    (out / "planted-clips.json").write_text(json.dumps({"segment-ends-loose": planted}, indent=2) + "\n")
    print(f"wrote export-clips.json: {len(planted)} loose segments planted")


def deployment(seed: int = SEED, out: Path = HERE) -> None:
    """A deployment sample and an unlabeled pool (deploy/, pool/, planted-deployment.json).

    deploy/gate-1 is the camera the labeled data was shot like, but what it sees includes two scenarios the
    labeled data lacks: figures far away (the labeled data has close and medium only) and timeouts at night
    in front of a crowd; deploy/gate-2 is a darker camera (every picture at 0.45 of its brightness). pool/
    holds unlabeled pictures: some far, some night-crowd timeouts (what labeling would fill), the rest like
    the labeled data (what it would not)."""
    from PIL import Image

    rng = random.Random(seed + 3)
    for folder in ("deploy/gate-1", "deploy/gate-2", "pool"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for old in (out / folder).glob("*.png"):
            old.unlink()
    planted: dict[str, list[str]] = {"far": [], "night-crowd": [], "pool-useful": []}

    def ordinary() -> Scene:
        return random_scene(rng, distance=rng.choice(["close", "medium"]))

    def save(scene: Scene, path: str, darker: bool = False) -> None:
        picture = render(scene)
        if darker:
            picture = Image.eval(picture, lambda v: int(v * 0.45))
        picture.save(out / path)

    for i in range(120):
        name = f"deploy/gate-1/frame_{i:04d}.png"
        if i % 5 == 1:  # planted: far away
            save(random_scene(rng, distance="far"), name)
            planted["far"].append(name)
        elif i % 5 == 3:  # planted: a timeout at night in front of a crowd
            save(random_scene(rng, gesture="timeout", lighting="night", bystanders="crowd"), name)
            planted["night-crowd"].append(name)
        else:
            save(ordinary(), name)
    for i in range(60):
        save(ordinary(), f"deploy/gate-2/frame_{i:04d}.png", darker=True)
    for i in range(150):
        name = f"pool/unlabeled_{i:04d}.png"
        if i % 6 == 2:
            save(random_scene(rng, distance="far"), name)
            planted["pool-useful"].append(name)
        elif i % 6 == 4:
            save(random_scene(rng, gesture="timeout", lighting="night", bystanders="crowd"), name)
            planted["pool-useful"].append(name)
        else:
            save(ordinary(), name)
    (out / "planted-deployment.json").write_text(json.dumps(planted, indent=2) + "\n")
    print(f"wrote deploy/ (180 pictures) and pool/ (150): {', '.join(f'{k} {len(v)}' for k, v in planted.items())}")


def specs(out: Path) -> None:
    """The specs in `out`, their model paths pointing at this folder's model."""
    for name in ("spec.yaml", "spec-boxes.yaml", "spec-clips.yaml", "spec-deployment.yaml"):
        text = (HERE / name).read_text(encoding="utf-8").replace("model/", f"{(HERE / 'model').as_posix()}/")
        (out / name).write_text(text, encoding="utf-8")


VERSIONS = {"images": images, "boxes": boxes, "clips": clips, "deployment": deployment}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=SEED, help=f"the random seed (the committed demo: {SEED})")
    parser.add_argument("--out", type=Path, default=HERE, help="the folder to write (default: this one)")
    parser.add_argument("--only", default=",".join(VERSIONS), help="which: images, boxes, clips, deployment")
    options = parser.parse_args()
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for version in options.only.split(","):
        VERSIONS[version](options.seed, out)
    if out != HERE:
        specs(out)
        shutil.copy(HERE / "scenes.py", out / "scenes.py")  # what the pictures were rendered with


if __name__ == "__main__":
    main()
