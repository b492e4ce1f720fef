"""Render synthetic signal scenes: a stick figure whose pose is the class, under varied lighting, distance,
camera angle and bystanders. Deterministic for a seed; used to train the demo model and to build the demo.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

SIZE = 64
GESTURES = ("timeout", "waving", "clapping")
LIGHTING = ("day", "night", "floodlight")
DISTANCE = ("close", "medium", "far")
ANGLE = ("front", "side")
BYSTANDERS = ("none", "few", "crowd")

PHRASES = {
    "timeout": "making a T sign with both hands",
    "waving": "waving one arm above the head",
    "clapping": "clapping hands in front of the chest",
    "day": "in daylight",
    "night": "at night",
    "floodlight": "under floodlights",
    "close": "close to the camera",
    "medium": "at medium distance",
    "far": "far away",
    "front": "seen from the front",
    "side": "seen from the side",
    "none": "alone",
    "few": "with a few people around",
    "crowd": "in front of a crowd",
}


@dataclass(frozen=True)
class Scene:
    """What one picture shows."""

    gesture: str
    lighting: str
    distance: str
    angle: str
    bystanders: str
    seed: int

    def caption(self) -> str:
        """The training caption: every parameter in words."""
        return (
            f"a person {PHRASES[self.gesture]} {PHRASES[self.lighting]}, {PHRASES[self.distance]}, "
            f"{PHRASES[self.angle]}, {PHRASES[self.bystanders]}"
        )


def _figure(
    draw: ImageDraw.ImageDraw,
    cx: float,
    ground: float,
    height: float,
    gesture: str,
    squash: float,
    color: tuple[int, int, int],
    rng: random.Random,
    width: int,
) -> None:
    head = height * 0.14
    neck = ground - height + 2 * head
    hip = ground - height * 0.45
    shoulder = neck + head * 0.4
    draw.ellipse([cx - head, neck - 2 * head, cx + head, neck], fill=color)
    draw.line([cx, neck, cx, hip], fill=color, width=width)
    leg = height * 0.12 * squash
    draw.line([cx, hip, cx - leg, ground], fill=color, width=width)
    draw.line([cx, hip, cx + leg, ground], fill=color, width=width)
    arm = height * 0.32
    jitter = math.radians(rng.uniform(-8, 8))
    if gesture == "timeout":
        top = neck - 2.2 * head
        draw.line([cx, shoulder, cx, top], fill=color, width=width)  # upright forearm
        half = arm * 0.55 * squash
        draw.line([cx - half, top, cx + half, top], fill=color, width=width)  # the bar of the T
    elif gesture == "waving":
        angle = math.radians(-60) + jitter
        hx, hy = cx + arm * math.cos(angle) * squash, shoulder + arm * math.sin(angle) * 1.6
        draw.line([cx, shoulder, hx, hy], fill=color, width=width)
        draw.ellipse([hx - width, hy - width, hx + width, hy + width], fill=color)
        draw.line([cx, shoulder, cx - arm * 0.3 * squash, shoulder + arm * 0.9], fill=color, width=width)
    elif gesture == "idle":  # arms hanging down: before and after a signal
        for side in (-1, 1):
            draw.line([cx, shoulder, cx + side * arm * 0.25 * squash, shoulder + arm * 1.1], fill=color, width=width)
    else:  # clapping: both forearms meet in front of the chest
        meet = (cx, shoulder + arm * 0.45)
        for side in (-1, 1):
            elbow = (cx + side * arm * 0.55 * squash, shoulder + arm * 0.55)
            draw.line([cx, shoulder, *elbow], fill=color, width=width)
            draw.line([*elbow, *meet], fill=color, width=width)


def render(scene: Scene) -> Image.Image:
    """The picture of `scene`."""
    return render_with_box(scene)[0]


def render_with_box(scene: Scene) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The picture of `scene` and the main figure's box (x0, y0, x1, y1 in pixels)."""
    rng = random.Random(scene.seed)
    sky = {"day": (150, 190, 245), "night": (14, 18, 42), "floodlight": (22, 24, 40)}[scene.lighting]
    grass = {"day": (80, 150, 80), "night": (16, 40, 22), "floodlight": (40, 90, 45)}[scene.lighting]
    image = Image.new("RGB", (SIZE, SIZE), sky)
    draw = ImageDraw.Draw(image)
    horizon = SIZE * rng.uniform(0.5, 0.6)
    draw.rectangle([0, horizon, SIZE, SIZE], fill=grass)
    if scene.lighting == "floodlight":
        for x in (6, SIZE - 6):
            draw.ellipse([x - 6, 2, x + 6, 12], fill=(255, 240, 160))
    people = {"none": 0, "few": 2, "crowd": 7}[scene.bystanders]
    for _ in range(people):
        gray = rng.randint(90, 140) if scene.lighting == "day" else rng.randint(40, 70)
        _figure(
            draw,
            rng.uniform(4, SIZE - 4),
            horizon + rng.uniform(2, 8),
            rng.uniform(10, 14),
            rng.choice(["none"]),
            1.0,
            (gray, gray, gray),
            rng,
            1,
        )
    height = {"close": 46, "medium": 32, "far": 20}[scene.distance]
    bright = {"day": (250, 250, 250), "night": (150, 150, 170), "floodlight": (255, 245, 210)}[scene.lighting]
    squash = 1.0 if scene.angle == "front" else 0.55
    cx = SIZE / 2 + rng.uniform(-6, 6)
    ground = min(SIZE - 2, horizon + height * 0.45 + rng.uniform(0, 3))
    _figure(draw, cx, ground, height, scene.gesture, squash, bright, rng, 2 if height > 25 else 1)
    half = height * 0.4
    box = (max(0.0, cx - half), max(0.0, ground - height * 1.12), min(SIZE, cx + half), min(SIZE, ground + 1))
    return image, box


def random_scene(rng: random.Random, **fixed: str) -> Scene:
    """A scene with every parameter drawn at random, except those `fixed`."""
    values = {
        "gesture": rng.choice(GESTURES),
        "lighting": rng.choice(LIGHTING),
        "distance": rng.choice(DISTANCE),
        "angle": rng.choice(ANGLE),
        "bystanders": rng.choice(BYSTANDERS),
    }
    values.update(fixed)
    return Scene(seed=rng.randrange(1 << 30), **values)
