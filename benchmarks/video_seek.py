"""Frames of segments spread over a long video: seeking to each segment's keyframe against decoding the
whole video up to the last segment (what taxospec did before), in one run, on the same bytes.

A synthetic video (H.264, 640x480, 30 fps, a keyframe every 250 frames as x264 writes by default) of
`--minutes` minutes; `--segments` segments, three frames each (start, middle, end), spread evenly over it.
Both ways must give identical frames (checked); the ratio is the speed-up.

    .venv/bin/python benchmarks/video_seek.py [--minutes 5] [--segments 6]
"""

from __future__ import annotations

import argparse
import io
import math
import time

import numpy as np


def make_video(minutes: float, fps: int = 30) -> bytes:
    """A moving gradient with a frame counter band, H.264 in MP4 (compresses well, decodes like real video)."""
    import av

    buffer = io.BytesIO()
    x = np.linspace(0, 4 * np.pi, 640)
    y = np.linspace(0, 3 * np.pi, 480)[:, None]
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for i in range(int(minutes * 60 * fps)):
            plane = (127 + 120 * np.sin(x + y + i / 15)).astype(np.uint8)
            pixels = np.repeat(plane[:, :, None], 3, axis=2)
            pixels[:20, : (i % 640)] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--segments", type=int, default=6)
    options = parser.parse_args()
    from taxospec.embeddings.frames import SEEK_AHEAD, sample_times, video_frames

    began = time.perf_counter()
    data = make_video(options.minutes)
    made = time.perf_counter() - began
    length = options.minutes * 60
    times: list[float] = []
    for n in range(options.segments):
        start = length * (n + 0.5) / options.segments
        times += sample_times(start, start + 2.0, 3)
    results = {}
    for label, ahead in (("decode everything up to each moment", math.inf), ("seek to each keyframe", SEEK_AHEAD)):
        began = time.perf_counter()
        results[label] = (video_frames(data, times, "bench.mp4", seek_ahead=ahead), time.perf_counter() - began)
    (base, base_s), (sought, sought_s) = results.values()
    same = all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(base, sought, strict=True))
    print(f"video: {options.minutes:g} min, 640x480, 30 fps, {len(data) / 1e6:.1f} MB (made in {made:.0f} s)")
    print(f"{len(times)} frames of {options.segments} segments spread over it")
    for label, (_, seconds) in results.items():
        print(f"  {label:38} {seconds:7.2f} s")
    print(f"speed-up {base_s / sought_s:.1f}x; identical frames: {same}")
    if not same:
        raise SystemExit("the frames differ")


if __name__ == "__main__":
    main()
