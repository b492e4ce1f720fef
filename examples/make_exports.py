"""Write each example's Label Studio export (export.json) and labeling config (project.xml).

The exports are synthetic but exact in form (Label Studio 1.23.2's JSON export) and realistic in size
(hundreds of tasks). Their content is planned cell by cell, so that each example carries exactly the
problems it teaches, listed in its README and asserted by tests/integration/test_examples.py:

    python examples/make_exports.py            # rewrites examples/*/export.json and project.xml

Deterministic: the same script writes the same bytes.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lsexport import ExportWriter, choices, rectangle, spread, timeline

HERE = Path(__file__).resolve().parent


def _split_and_group(i: int, prefix: str, train_groups: int) -> tuple[str, str]:
    """Every fifth example goes to validation; train and validation draw from separate source groups
    (matches, cameras, batches), so that a group in both splits is only ever a planted one."""
    if i % 5 == 4:
        return "val", f"{prefix}{train_groups + 1 + i % 4:02d}"
    return "train", f"{prefix}{1 + i % train_groups:02d}"


def _segment(writer: ExportWriter, fps: int, start_s: float, seconds: float) -> tuple[int, int]:
    start = int(start_s * fps) + 1
    return start, start + round(seconds * fps) - 1


# --- football signals ------------------------------------------------------------------------------


FOOTBALL_CONFIG = """<View>
  <Header value="Mark each signal: start when the hands begin to form the gesture, end when they drop."/>
  <Video name="video" value="$video" frameRate="25"/>
  <TimelineLabels name="label" toName="video">
    <Label value="timeout" hint="Hands forming a T above chest height, held still for a moment."/>
    <Label value="clapping" hint="Hands clapping in front of the body; no T is formed."/>
    <Label value="waving" hint="One or both arms waving above the head; the hands never meet."/>
  </TimelineLabels>
  <Choices name="lighting" toName="video" choice="single" required="true">
    <Choice value="day"/><Choice value="night"/><Choice value="floodlight"/>
  </Choices>
  <Choices name="bystanders" toName="video" choice="single" required="true">
    <Choice value="none"/><Choice value="few"/><Choice value="crowd"/>
  </Choices>
  <View visibleWhen="region-selected" whenTagName="label">
    <Choices name="angle" toName="video" perRegion="true" choice="single" required="true">
      <Choice value="front"/><Choice value="side"/><Choice value="behind"/>
    </Choices>
    <Choices name="distance" toName="video" perRegion="true" choice="single" required="true">
      <Choice value="close"/><Choice value="medium"/><Choice value="far"/>
    </Choices>
  </View>
</View>
"""


def football() -> ExportWriter:
    """Timeout vs clapping and waving. Planted: no timeout at night with a crowd; waving short of its
    minimum (40 of 60) and thin in five lighting × bystanders cells; six loose timeout segments (4-6 s)
    and two clapping flashes (0.2 s); two pairs of timeout segments 0.2 s apart; a 'Timeout' typo;
    three segments without a distance; match m07 in train and val; four unannotated and two skipped
    clips; three clips where a second annotator disagrees on the lighting."""
    fps = 25
    writer = ExportWriter(project=3, seed=7)
    lighting, bystanders = ["day", "night", "floodlight"], ["none", "few", "crowd"]
    angles, distances = ["front", "side", "behind"], ["close", "medium", "far"]
    all_cells = list(itertools.product(lighting, bystanders))
    plan = {
        "timeout": (150, [c for c in all_cells if c != ("night", "crowd")]),
        "clapping": (75, all_cells),
        "waving": (40, all_cells),
    }
    loose = {10, 35, 60, 85, 110, 135}
    pairs = {3: 11, 5: 13}
    paired = set(pairs.values())
    clip = itertools.count(1)

    def segment_result(label: str, i: int, start_s: float, seconds: float, *, distance: bool = True) -> list[Any]:
        rid = writer.region_id()
        start, end = _segment(writer, fps, start_s, seconds)
        ranges = {"ranges": [{"start": start, "end": end}]}
        out = [
            timeline("label", rid, start, end, label),
            choices("angle", "video", angles[i % 3], rid, **ranges),
        ]
        if distance:
            out.append(choices("distance", "video", distances[(i // 3) % 3], rid, **ranges))
        return out

    for label, (n, cells) in plan.items():
        for i, cell in enumerate(spread(n, cells)):
            if label == "timeout" and i in paired:
                continue
            split, match = _split_and_group(i, "m", 16)
            if label == "clapping" and i in (4, 9, 14):
                match = "m07"  # planted: a match in both splits
            seconds = 0.8 + writer.rng.random() * 1.7
            if label == "timeout" and i in loose:
                seconds = 4.0 + writer.rng.random() * 2.0
            if label == "clapping" and i in (20, 50):
                seconds = 0.2
            result = [choices("lighting", "video", cell[0]), choices("bystanders", "video", cell[1])]
            result += segment_result(label, i, 1.0, seconds, distance=not (label == "timeout" and i in (30, 31, 32)))
            if label == "timeout" and i in pairs:
                end_s = 1.0 + round(seconds * fps) / fps
                result += segment_result(label, pairs[i], end_s + 0.2, 1.2)
            if label == "timeout" and i == 20:
                result += segment_result("Timeout", i, 8.0, 1.0)  # planted: a label that is not a class
            annotations = []
            if label == "timeout" and i in (40, 41, 42):
                # an earlier annotation by a second annotator; the later one counts
                other = lighting[(lighting.index(cell[0]) + 1) % 3]
                disagreeing = [choices("lighting", "video", other), choices("bystanders", "video", cell[1])]
                disagreeing += segment_result(label, i, 1.0, seconds)
                annotations.append(writer.annotation(0, disagreeing, annotator=2))
            annotations.append(writer.annotation(0, result))
            data = {
                "video": f"/data/local-files/?d=football/clips/clip_{next(clip):04d}.mp4",
                "match": match,
                "split": split,
            }
            writer.task(data, annotations)
    for _ in range(4):
        writer.task(
            {
                "video": f"/data/local-files/?d=football/clips/clip_{next(clip):04d}.mp4",
                "match": "m01",
                "split": "train",
            },
            [],
        )
    for _ in range(2):
        data = {
            "video": f"/data/local-files/?d=football/clips/clip_{next(clip):04d}.mp4",
            "match": "m02",
            "split": "train",
        }
        writer.task(data, [writer.annotation(0, [], cancelled=True)])
    return writer


# --- fall detection --------------------------------------------------------------------------------


FALL_CONFIG = """<View>
  <Header value="Mark falls and look-alikes: start when balance is lost, end when the body comes to rest."/>
  <Video name="video" value="$video" frameRate="15"/>
  <TimelineLabels name="label" toName="video">
    <Label value="fall"/><Label value="sit_down"/><Label value="lie_down"/><Label value="bend_over"/>
  </TimelineLabels>
  <Choices name="lighting" toName="video" choice="single" required="true">
    <Choice value="day"/><Choice value="night_ir"/><Choice value="dim"/>
  </Choices>
  <Choices name="bystanders" toName="video" choice="single" required="true">
    <Choice value="alone"/><Choice value="carer_present"/><Choice value="several"/>
  </Choices>
  <Choices name="location" toName="video" choice="single" required="true">
    <Choice value="bedroom"/><Choice value="bathroom"/><Choice value="hallway"/><Choice value="common_room"/>
  </Choices>
  <View visibleWhen="region-selected" whenLabelValue="fall">
    <Choices name="direction" toName="video" perRegion="true" choice="single" required="true">
      <Choice value="towards"/><Choice value="away"/><Choice value="sideways"/>
    </Choices>
  </View>
</View>
"""


def fall_detection() -> ExportWriter:
    """Falls vs sitting, lying and bending down. Planted: no fall at night_ir in a bathroom; lie_down
    short of its minimum (54 of 60); two falls without a direction; three loose falls (5-6 s) and one
    0.3 s bend; camera cam-04 in train and val; bend_over at night_ir only in training; one skipped
    clip."""
    fps = 15
    writer = ExportWriter(project=5, seed=11)
    lighting, bystanders = ["day", "night_ir", "dim"], ["alone", "carer_present", "several"]
    locations, directions = ["bedroom", "bathroom", "hallway", "common_room"], ["towards", "away", "sideways"]
    fall_cells = [c for c in itertools.product(lighting, bystanders, locations) if c[0::2] != ("night_ir", "bathroom")]
    pair_cells = list(itertools.product(lighting, bystanders))
    plan: dict[str, tuple[int, Callable[[int], tuple[str, str, str]]]] = {
        "fall": (170, lambda i: fall_cells[i % len(fall_cells)]),
        "sit_down": (70, lambda i: (*pair_cells[i % 9], locations[i % 4])),
        "lie_down": (54, lambda i: (*pair_cells[i % 9], locations[i % 4])),
        "bend_over": (66, lambda i: (*pair_cells[i % 9], locations[i % 4])),
    }
    clip = itertools.count(1)
    for label, (n, cell_of) in plan.items():
        for i in range(n):
            light, people, place = cell_of(i)
            split, camera = _split_and_group(i, "cam-", 12)
            if label == "bend_over" and light == "night_ir" and split == "val":
                split, camera = "train", f"cam-{1 + i % 12:02d}"  # planted: validation never sees a bend at night
            if label == "sit_down" and i in (4, 9):
                camera = "cam-04"  # planted: one camera in both splits
            seconds = 1.0 + writer.rng.random() * 2.5
            if label == "fall" and i in (15, 45, 75):
                seconds = 5.0 + writer.rng.random()
            if label == "bend_over" and i == 12:
                seconds = 0.3
            rid = writer.region_id()
            start, end = _segment(writer, fps, 2.0, seconds)
            result = [
                choices("lighting", "video", light),
                choices("bystanders", "video", people),
                choices("location", "video", place),
                timeline("label", rid, start, end, label),
            ]
            if label == "fall" and i not in (7, 8):
                result.append(
                    choices("direction", "video", directions[i % 3], rid, ranges=[{"start": start, "end": end}])
                )
            data = {"video": f"/data/local-files/?d=care/clips/{next(clip):05d}.mp4", "camera": camera, "split": split}
            writer.task(data, [writer.annotation(0, result)])
    data = {"video": f"/data/local-files/?d=care/clips/{next(clip):05d}.mp4", "camera": "cam-02", "split": "train"}
    writer.task(data, [writer.annotation(0, [], cancelled=True)])
    return writer


# --- product defects -------------------------------------------------------------------------------


PRODUCT_CONFIG = """<View>
  <Header value="Box every scratch, dent and look-alike; keep the box tight around the mark."/>
  <Image name="image" value="$image"/>
  <RectangleLabels name="defect" toName="image">
    <Label value="scratch"/><Label value="dent"/>
    <Label value="fingerprint"/><Label value="dust"/><Label value="logo_edge"/>
  </RectangleLabels>
  <Choices name="lighting" toName="image" choice="single" required="true">
    <Choice value="ring_light"/><Choice value="dark_field"/><Choice value="diffuse"/><Choice value="ambient"/>
  </Choices>
  <Choices name="distance" toName="image" choice="single" required="true">
    <Choice value="macro"/><Choice value="near"/><Choice value="far"/>
  </Choices>
  <Choices name="finish" toName="image" choice="single" required="true">
    <Choice value="silver"/><Choice value="graphite"/><Choice value="gold"/>
  </Choices>
  <View visibleWhen="region-selected" whenLabelValue="scratch,dent">
    <Choices name="defect_size" toName="image" perRegion="true" choice="single" required="true">
      <Choice value="small"/><Choice value="medium"/><Choice value="large"/>
    </Choices>
  </View>
</View>
"""


def product_defects() -> ExportWriter:
    """Scratches and dents vs fingerprints, dust and logo edges. Planted: no dent under dark-field light
    from far away; five scratches too small to learn; four fingerprints cut by the frame edge; a dust box
    sticking out of the image; two 'scrach' typos; three dents without a size; three images uploaded
    twice; batch B05 in train and val; two empty annotations."""
    size = (2048, 1536)
    writer = ExportWriter(project=8, seed=23)
    lighting, distance = ["ring_light", "dark_field", "diffuse", "ambient"], ["macro", "near", "far"]
    finishes, sizes = ["silver", "graphite", "gold"], ["small", "medium", "large"]
    cells = list(itertools.product(lighting, distance))
    plan = {
        "scratch": (210, cells),
        "dent": (160, [c for c in cells if c != ("dark_field", "far")]),
        "fingerprint": (84, cells),
        "dust": (84, cells),
        "logo_edge": (60, cells),
    }
    image = itertools.count(1)
    for label, (n, label_cells) in plan.items():
        for i, (light, dist) in enumerate(spread(n, label_cells)):
            split, batch = _split_and_group(i, "B", 12)
            if label == "logo_edge" and i in (4, 9):
                batch = "B05"  # planted: one batch in both splits
            w, h = 7 + writer.rng.random() * 8, 7 + writer.rng.random() * 8
            x, y = 5 + writer.rng.random() * 75, 5 + writer.rng.random() * 75
            if label == "scratch" and i in (11, 22, 33, 44, 55):
                w, h = 3.0, 1.0  # 0.03 % of the image
            if label == "fingerprint" and i in (5, 15, 25, 35):
                x = 0.0
            if label == "dust" and i == 8:
                x, w = 85.0, 20.0
            rid = writer.region_id()
            shown = "scrach" if label == "scratch" and i in (100, 101) else label
            box = (round(x, 3), round(y, 3), round(w, 3), round(h, 3))
            result = [
                choices("lighting", "image", light),
                choices("distance", "image", dist),
                choices("finish", "image", finishes[i % 3]),
                rectangle("defect", rid, box, shown, size),
            ]
            if label in ("scratch", "dent") and not (label == "dent" and i in (50, 51, 52)):
                geometry = {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "rotation": 0}
                result.append(
                    choices(
                        "defect_size",
                        "image",
                        sizes[(i // 3) % 3],
                        rid,
                        original_width=size[0],
                        original_height=size[1],
                        image_rotation=0,
                        **geometry,
                    )
                )
            url = f"/data/local-files/?d=inspection/{batch}/img_{next(image):05d}.png"
            data = {"image": url, "batch": batch, "split": split}
            writer.task(data, [writer.annotation(0, result)])
            if label == "dust" and i in (1, 2, 3):
                writer.task(dict(data), [writer.annotation(0, [dict(r) for r in result])])  # planted: uploaded twice
    for _ in range(2):
        url = f"/data/local-files/?d=inspection/B01/img_{next(image):05d}.png"
        writer.task({"image": url, "batch": "B01", "split": "train"}, [writer.annotation(0, [])])
    return writer


EXAMPLES: dict[str, tuple[Callable[[], ExportWriter], str]] = {
    "football-signals": (football, FOOTBALL_CONFIG),
    "fall-detection": (fall_detection, FALL_CONFIG),
    "product-defects": (product_defects, PRODUCT_CONFIG),
}


def main() -> None:
    for name, (build, config) in EXAMPLES.items():
        folder = HERE / name
        build().write(folder / "export.json")
        (folder / "project.xml").write_text(config, encoding="utf-8")
        print(f"wrote {folder / 'export.json'} and {folder / 'project.xml'}")


if __name__ == "__main__":
    main()
