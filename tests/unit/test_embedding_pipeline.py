"""The embedding pipeline for real: media under safe roots, PIL and PyAV decoding, a tiny open_clip model
with random weights, the float16 cache, and media problems as findings."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taxospec import check, load_spec_text, read_export
from taxospec.checks.run import run_checks
from taxospec.dataset import Dataset
from taxospec.embeddings.cache import EmbeddingCache
from taxospec.embeddings.encoder import OpenClipEmbedder, OpenClipFactory
from taxospec.embeddings.frames import crop, sample_times, video_frames
from taxospec.embeddings.pipeline import embed_dataset
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.errors import EmbeddingError
from taxospec.media.dispatch import read_media
from taxospec.media.files import safe_join
from taxospec.media.sources import MediaProblem, MediaSources
from taxospec.scores import mapped_rows

from .tiny_model import TINY, box_task, boxes_export, pipeline_spec, png


def _video(path: Path, seconds: float = 2.0, fps: int = 10) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * fps)):
            pixels = np.full((48, 64, 3), (i * 12) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_images_boxes_cache_and_media_problems(tmp_path: Path, tiny_weights: Path) -> None:
    root = tmp_path / "data"
    for i in range(6):
        png(root / "img" / f"{i}.png", (40 * i, 100, 200))
    (root / "img" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "secret.txt").write_text("outside the root")
    tasks = [box_task(i + 1, f"/data/local-files/?d=img/{i}.png", "a" if i % 2 else "b") for i in range(6)]
    tasks += [
        box_task(7, "/data/local-files/?d=img/missing.png", "a"),
        box_task(8, "/data/local-files/?d=img/broken.png", "a"),
        box_task(9, "/data/local-files/?d=../secret.txt", "a"),
        box_task(10, "https://example.com/x.png", "a"),
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    spec = pipeline_spec(tmp_path, tiny_weights)
    media = MediaSources(export_dir=tmp_path, roots={"ls-document-root": root})
    cache = tmp_path / "cache"
    report = check(spec, export, media=media, cache_dir=cache, device="cpu")
    counts = report.counts_by_code()
    assert counts["media-missing"] == 1 and counts["media-unreadable"] == 1 and counts["media-refused"] == 2
    skipped = {s.code: s.skipped for s in report.checks if s.family == "embeddings" and s.skipped}
    assert "outlier" not in skipped and "prompt-incoherent" not in skipped, skipped
    batches = list(cache.rglob("batch-*.npz"))
    assert batches
    with np.load(batches[0]) as data:
        assert data["vectors"].dtype == np.float16
    before = {p.name for p in cache.rglob("batch-*.npz")}
    check(spec, export, media=media, cache_dir=cache, device="cpu")
    assert {p.name for p in cache.rglob("batch-*.npz")} == before, "a re-run encodes nothing new"
    png(root / "img" / "0.png", (1, 2, 3))  # one image changes: only it is encoded again
    check(spec, export, media=media, cache_dir=cache, device="cpu")
    new = {p.name for p in cache.rglob("batch-*.npz")} - before
    assert len(new) == 1
    with np.load(next(cache.rglob(next(iter(new))))) as data:
        assert len(data["vectors"]) == 2, "the changed image's box crop and the whole image (its context)"


def _two_segments(tmp_path: Path, weights: Path) -> Dataset:
    """A 2-second clip (10 frames per second) with two labelled segments, read as a segment dataset."""
    _video(tmp_path / "clips" / "one.mp4")
    segment = lambda s, e, label, rid: {  # noqa: E731
        "id": rid,
        "from_name": "label",
        "to_name": "video",
        "type": "timelinelabels",
        "value": {"ranges": [{"start": s, "end": e}], "timelinelabels": [label]},
    }
    results = [segment(1, 8, "a", "s1"), segment(10, 20, "b", "s2")]
    tasks = [{"id": 1, "data": {"video": "clips/one.mp4"}, "annotations": [{"id": 1, "result": results}]}]
    export = tmp_path / "clips.json"
    export.write_text(json.dumps(tasks))
    spec = load_spec_text(pipeline_spec(tmp_path, weights, unit="segment", media="video").read_text())
    spec = spec.model_copy(update={"labelstudio": spec.labelstudio.model_copy(update={"frame_rate": 10.0})})
    return read_export(spec, export)


def test_video_segments_embed_sampled_frames(tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder) -> None:
    dataset = _two_segments(tmp_path, tiny_weights)
    space = embed_dataset(dataset, embedder, MediaSources(media_root=tmp_path), cache=None, workers=2)
    assert space.samples.tolist() == [0, 1]
    assert {s: v.shape for s, v in space.frame_vectors.items()} == {0: (3, 32), 1: (3, 32)}
    assert np.allclose(np.linalg.norm(space.vectors, axis=1), 1.0, atol=1e-5)


def test_local_videos_stream_and_keep_their_cache_keys(
    tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A video on disk is hashed as it streams by and decoded from its file (never read whole: a long
    recording would fill memory); its content hash, and so its cache keys, are those of its bytes, and its
    vectors those of the same video given as bytes (over http, inline)."""
    from taxospec.embeddings import pipeline, reading
    from taxospec.media import files as media

    dataset = _two_segments(tmp_path, tiny_weights)
    read_whole: list[str] = []
    original = media.read_file_and_stat
    monkeypatch.setattr(reading, "read_file_and_stat", lambda *a: read_whole.append(str(a[0])) or original(*a))
    cache = EmbeddingCache(tmp_path / "cache", embedder.model_id, embedder.preprocess_id)
    streamed = embed_dataset(dataset, embedder, MediaSources(media_root=tmp_path), cache=cache, workers=1)
    assert read_whole == [], "the video was not read whole"
    data = (tmp_path / "clips" / "one.mp4").read_bytes()
    assert streamed.content_hashes == {0: pipeline.content_hash(data), 1: pipeline.content_hash(data)}
    inline = _two_segments(tmp_path / "inline", tiny_weights)
    inline.items.media[0] = "data:video/mp4;base64," + __import__("base64").b64encode(data).decode()
    from_bytes = embed_dataset(inline, embedder, MediaSources(), cache=None, workers=1)
    assert np.allclose(streamed.vectors, from_bytes.vectors, atol=1e-5)
    broken = _two_segments(tmp_path, tiny_weights)
    (tmp_path / "clips" / "one.mp4").write_bytes(b"")
    found = embed_dataset(broken, embedder, MediaSources(media_root=tmp_path), cache=None, workers=1)
    assert [i.message for i in found.issues] == ["clips/one.mp4: not a readable video (an empty file)"]
    assert broken.issues == [], "the stage returns what it found; the dataset stays as read"


def test_video_frames_are_the_ones_shown_at_each_time(tmp_path: Path) -> None:
    _video(tmp_path / "v.mp4", seconds=2.0, fps=10)
    data = (tmp_path / "v.mp4").read_bytes()
    first, middle, last = video_frames(data, [0.0, 1.0, 5.0], "v.mp4")
    brightness = [float(np.asarray(f).mean()) for f in (first, middle, last)]
    assert brightness[0] < 10 and 100 < brightness[1] < 140 and brightness[2] > 200
    with pytest.raises(MediaProblem, match="not a readable video"):
        video_frames(b"garbage", [0.0], "g.mp4")


def test_sample_times_and_crops() -> None:
    from PIL import Image

    assert sample_times(1.0, 3.0, 3) == [1.0, 2.0, 3.0]
    assert sample_times(0.0, 1.0, 5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    image = Image.new("RGB", (200, 100))
    assert crop(image, (10, 20, 50, 50), 0.0).size == (100, 50)
    assert crop(image, (10, 20, 50, 50), 0.1).size == (120, 60)
    assert crop(image, (90, 90, 20, 20), 0.5).size == (40, 20), "clipped to the image"


def test_turned_boxes_are_cropped_where_label_studio_draws_them(
    tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder
) -> None:
    """A box turned about its top-left corner (Label Studio's `rotation`, clockwise, in pixels) is cropped
    around where it is drawn, on Pillow's path and the device path alike; an unturned box keeps the cache
    key it always had."""
    import torch
    from PIL import Image

    from taxospec.embeddings.device_stage import device_crop
    from taxospec.embeddings.frames import box_pixels
    from taxospec.embeddings.plan import box_id, parse_box_id

    assert box_pixels(200, 100, (50, 10, 20, 40), 0.0) == (100, 10, 140, 50)
    assert box_pixels(200, 100, (50, 10, 20, 40), 0.0, 90) == (60, 10, 100, 50), "turned a quarter clockwise"
    assert box_pixels(200, 100, (50, 10, 20, 40), 0.0, 180) == (60, 0, 100, 10), "clipped to the picture"
    assert box_pixels(200, 100, (50, 10, 20, 40), 0.5, 90) == (40, 0, 120, 70)
    assert (
        box_id((50, 10, 20, 40), 0.1) == "50.0000,10.0000,20.0000,40.0000;m=0.1" == box_id((50, 10, 20, 40), 0.1, 360)
    )
    assert parse_box_id(box_id((50, 10, 20, 40), 0.1, -90)) == ((50, 10, 20, 40), 0.1, 270)
    picture = Image.new("RGB", (200, 100), (0, 0, 255))
    picture.paste((255, 0, 0), (60, 10, 100, 50))  # where the turned box is drawn
    assert crop(picture, (50, 10, 20, 40), 0.0, 90).getcolors() == [(1600, (255, 0, 0))]
    tensor = torch.from_numpy(np.array(picture)).permute(2, 0, 1)
    cut = device_crop(tensor, "box:" + box_id((50, 10, 20, 40), 0.0, 90))
    assert tuple(cut.shape) == (3, 40, 40) and bool((cut[0] == 255).all())
    # through the pipeline: the turned box's crop is the red square, not the blue beside it
    (tmp_path / "img").mkdir()
    picture.save(tmp_path / "img" / "p.png")
    task = box_task(1, "/data/local-files/?d=img/p.png", "a")
    region = task["annotations"][0]["result"][0]  # type: ignore[index]
    region.update(original_width=200, original_height=100)
    region["value"].update(x=50, y=10, width=20, height=40, rotation=90)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]))
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    space = embed_dataset(dataset, embedder, MediaSources(roots={"ls-document-root": tmp_path}), cache=None)
    margin = dataset.spec.embedding.box_margin
    turned, unturned = (crop(picture, (50, 10, 20, 40), margin, turn) for turn in (90, 0))
    expected, beside = embedder.encode_images([turned, unturned])
    assert float(space.vectors[0] @ expected) > 0.9999 > float(space.vectors[0] @ beside)


def test_safe_join_refuses_escapes(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"x")
    (tmp_path / "root" / "link.png").symlink_to(outside)
    assert safe_join(tmp_path / "root", "a/b.png") == (tmp_path / "root" / "a" / "b.png").resolve()
    for hostile in ("../outside.png", "a/../../outside.png", "link.png"):
        with pytest.raises(MediaProblem, match="escapes its root"):
            safe_join(tmp_path / "root", hostile)
    sources = MediaSources(media_root=tmp_path / "root")
    with pytest.raises(MediaProblem, match="outside the media roots"):
        read_media(str(outside), sources)
    with pytest.raises(MediaProblem, match="not allowed"):
        read_media("http://10.0.0.1/x.png", sources)


def test_escapes_through_linked_folders_and_planted_pipes_are_refused(tmp_path: Path) -> None:
    """A folder inside the root that links outside is an escape too (folders are resolved once per run, so
    the check must still see the link), and a named pipe among the media is refused, not read forever."""
    import os

    from taxospec.media.files import forget_resolved_folders

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    (outside / "x.png").write_bytes(b"x")
    (root / "real" / "x.png").write_bytes(b"x")
    sources = MediaSources(roots={"ls-document-root": root})
    assert read_media("/data/local-files/?d=real/x.png", sources) == b"x"
    (root / "away").symlink_to(outside, target_is_directory=True)
    with pytest.raises(MediaProblem, match="escapes its root"):
        read_media("/data/local-files/?d=away/x.png", sources)
    os.rename(root / "real", root / "gone")  # a folder seen in this run becomes a link out of the root
    (root / "real").symlink_to(outside, target_is_directory=True)
    forget_resolved_folders()  # as every embedding run does first
    with pytest.raises(MediaProblem, match="escapes its root"):
        read_media("/data/local-files/?d=real/x.png", sources)
    os.mkfifo(root / "gone" / "pipe.jpg")
    with pytest.raises(MediaProblem, match="is a named pipe, not a file: refused") as pipe:
        read_media("/data/local-files/?d=gone/pipe.jpg", sources)
    assert pipe.value.code == "media-refused"  # planted, as the README says: refused, not missing
    with pytest.raises(MediaProblem, match="is a folder, not a file") as folder:
        read_media("/data/local-files/?d=gone", sources)
    assert folder.value.code == "media-missing"


def test_uris_no_file_can_have_are_refused_plainly(tmp_path: Path) -> None:
    """A NUL character (decoded from %00 or written as is), a URI that does not parse, a Windows path and a
    name longer than the file system allows are findings with short messages on every resolver and on the
    path the pipeline takes (`locate_media` then `read_file_and_stat`), never an internal error."""
    from taxospec.media.dispatch import locate_media
    from taxospec.media.files import read_file_and_stat

    root = tmp_path / "root"
    (root / "upload" / "1").mkdir(parents=True)
    sources = MediaSources(media_root=root, roots={"ls-document-root": root, "ls-media-root": root})
    refused = {
        "/data/local-files/?d=img/a%00b.png": "a path cannot hold a NUL character",
        "/data/upload/1/a%00.png": "a path cannot hold a NUL character",
        "img/x\x00.png": "a path cannot hold a NUL character",
        f"file://{root}/a%00.png": "a path cannot hold a NUL character",
        "http://[::1/x.png": "not a valid URI (Invalid IPv6 URL)",
        "C:\\data\\img.png": "no resolver reads this kind of URI (a Windows path: give paths relative to --media-root)",
    }
    for uri, why in refused.items():
        for read in (read_media, locate_media):
            if read is locate_media and "no resolver" in why:
                assert locate_media(uri, sources) is None  # then read_media says why
                continue
            with pytest.raises(MediaProblem) as raised:
                read(uri, sources)
            assert raised.value.code == "media-refused" and why in str(raised.value), (uri, str(raised.value))
    with pytest.raises(MediaProblem, match="not a possible file name") as raised:
        read_file_and_stat(str(root / "a\x00b.png"), 100)
    assert raised.value.code == "media-refused"
    long = "/data/local-files/?d=" + "a/" * 3000 + "x.png"
    with pytest.raises(MediaProblem) as raised:
        read_media(long, sources)
    assert raised.value.code == "media-missing" and len(str(raised.value)) < 200


def test_a_short_last_batch_is_padded_without_changing_its_vectors(embedder: OpenClipEmbedder) -> None:
    """On a GPU the last batch is padded to the batch size (a new size costs seconds of kernel selection);
    the padding must not leak into the vectors."""
    import torch

    from taxospec.embeddings.device_stage import encode_padded

    batch = torch.randn(3, 3, 32, 32)
    assert np.allclose(encode_padded(embedder, batch, 8), embedder.encode_batch(batch), atol=1e-5)
    assert encode_padded(embedder, batch, 8).shape == (3, embedder.encode_batch(batch).shape[1])


def test_cache_survives_an_interrupted_write(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "model", "pre")
    cache.put(["a", "b"], np.eye(2, 4, dtype=np.float32))
    (cache.folder / ".batch-dead.tmp.npz").write_bytes(b"half written")
    (cache.folder / "batch-damaged.npz").write_bytes(b"PK\x03\x04 torn")
    reopened = EmbeddingCache(tmp_path, "model", "pre")
    assert len(reopened) == 2 and np.allclose(reopened.get("a"), [1, 0, 0, 0])
    assert not list(cache.folder.glob(".batch-*")) and not (cache.folder / "batch-damaged.npz").exists()
    assert EmbeddingCache(tmp_path, "other-model", "pre").get("a") is None


def test_many_batch_files_are_merged_into_one(tmp_path: Path) -> None:
    """A run that wrote many batch files leaves one (the next run loads it in one go); a merge cut short
    after writing the merged file, before removing the others, loses and duplicates nothing."""
    import shutil

    from taxospec.embeddings.cache import COMPACT_ABOVE

    cache = EmbeddingCache(tmp_path, "model", "pre")
    for i in range(COMPACT_ABOVE):
        cache.put([f"k{i}"], np.full((1, 4), i + 1, dtype=np.float32))
    cache.compact()
    assert len(list(cache.folder.glob("batch-*.npz"))) == COMPACT_ABOVE, "few files are left as they are"
    cache.put(["last"], np.full((1, 4), 99, dtype=np.float32))
    before = sorted(cache.folder.glob("batch-*.npz"))
    kept = tmp_path / "kept"
    kept.mkdir()
    for path in before:
        shutil.copy(path, kept / path.name)
    cache.compact()
    [merged] = list(cache.folder.glob("batch-*.npz"))
    reopened = EmbeddingCache(tmp_path, "model", "pre")
    assert len(reopened) == COMPACT_ABOVE + 1 and float(reopened.get("k3")[0]) == 4.0  # type: ignore[index]
    for path in kept.iterdir():  # as if the merge had stopped before removing the merged files
        shutil.copy(path, cache.folder / path.name)
    interrupted = EmbeddingCache(tmp_path, "model", "pre")
    assert len(interrupted) == COMPACT_ABOVE + 1 and float(interrupted.get("last")[0]) == 99.0  # type: ignore[index]
    assert merged.exists()


def test_a_few_new_batches_do_not_rewrite_a_large_cache(tmp_path: Path) -> None:
    """A cache of 100 merged vectors plus 9 new batch files of 1: only the 9 are merged (the large file is
    left as it is); once the small ones outweigh it, everything is merged into one."""
    from taxospec.embeddings.cache import COMPACT_ABOVE

    cache = EmbeddingCache(tmp_path, "model", "pre")
    cache.put([f"old{i}" for i in range(100)], np.full((100, 4), 1, dtype=np.float32))
    [large] = list(cache.folder.glob("batch-*.npz"))
    written = large.stat().st_mtime_ns
    for i in range(COMPACT_ABOVE + 1):
        cache.put([f"new{i}"], np.full((1, 4), 2 + i, dtype=np.float32))
    cache.put(["old3"], np.full((1, 4), 7, dtype=np.float32))  # a newer vector for an old key
    cache.compact()
    files = sorted(cache.folder.glob("batch-*.npz"))
    assert len(files) == 2 and large in files and large.stat().st_mtime_ns == written, "the large file is kept"
    reopened = EmbeddingCache(tmp_path, "model", "pre")
    assert len(reopened) == 100 + COMPACT_ABOVE + 1
    assert reopened.get("old3").tolist() == [7] * 4 and reopened.get("new4").tolist() == [6] * 4  # type: ignore[union-attr]
    assert reopened.get("old50").tolist() == [1] * 4  # type: ignore[union-attr]
    for i in range(120):  # many more small batches than the large file holds: all are merged into one
        reopened.put([f"more{i}"], np.full((1, 4), 3, dtype=np.float32))
    reopened.compact()
    assert len(list(reopened.folder.glob("batch-*.npz"))) == 1
    again = EmbeddingCache(tmp_path, "model", "pre")
    assert len(again) == 220 + COMPACT_ABOVE + 1 and again.get("old3").tolist() == [7] * 4  # type: ignore[union-attr]


@pytest.mark.parametrize("mapped", [False, True], ids=["loaded", "mapped"])
def test_cache_rows_gather_across_batches_and_damaged_batches_are_dropped(
    tmp_path: Path, mapped: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with the batch files' vectors memory-mapped where they lie (as a large block's are)."""
    if mapped:
        monkeypatch.setattr(mapped_rows, "MAP_ABOVE", 0)
    cache = EmbeddingCache(tmp_path, "model", "pre")
    cache.put(["a", "b"], np.eye(2, 4, dtype=np.float32))
    cache.put(["c"], np.full((1, 4), 3, dtype=np.float32))
    assert cache.row("missing") is None
    rows = [cache.row(key) for key in ("c", "a")]
    assert cache.gather(rows).tolist() == [[3, 3, 3, 3], [1, 0, 0, 0]]  # type: ignore[arg-type]
    assert cache.gather(rows).dtype == np.float16 and cache.get("c").dtype == np.float32  # type: ignore[union-attr, arg-type]
    cache.put(["a"], np.full((1, 4), 7, dtype=np.float32))  # written again: the newest wins
    assert cache.get("a").tolist() == [7, 7, 7, 7]  # type: ignore[union-attr]
    with (cache.folder / "batch-short.npz").open("wb") as handle:  # three vectors, two keys
        np.savez(handle, keys=np.frombuffer(b"x\0y", dtype=np.uint8), vectors=np.zeros((3, 4), np.float16))
    with (cache.folder / "batch-wide.npz").open("wb") as handle:  # another width than the rest
        np.savez(handle, keys=np.frombuffer(b"z", dtype=np.uint8), vectors=np.zeros((1, 9), np.float16))
    reopened = EmbeddingCache(tmp_path, "model", "pre")
    assert len(reopened) == 3 and reopened.get("a").tolist() == [7, 7, 7, 7]  # type: ignore[union-attr]
    assert all(mapped_rows.file_backed(block) == mapped for block in reopened._blocks)
    again = [reopened.row(key) for key in ("c", "a", "b", "c")]
    assert reopened.gather(again).tolist() == [[3] * 4, [7] * 4, [0, 1, 0, 0], [3] * 4]  # type: ignore[arg-type]
    assert not (cache.folder / "batch-short.npz").exists()
    assert reopened.get("x") is None and reopened.get("z") is None


def test_content_memo_remembers_unchanged_files_and_survives_damage(tmp_path: Path) -> None:
    from taxospec.embeddings.cache import ContentMemo

    files = tmp_path / "media"
    files.mkdir()
    names = ["a.png", "b c.png", "\udcff-not-utf8.png"]  # a name that is not UTF-8 reaches Python so
    for name in list(names):
        try:
            (files / name).write_bytes(b"picture")
        except (UnicodeEncodeError, OSError):
            names.remove(name)
    memo = ContentMemo(tmp_path / "cache")
    uris = [f"/data/local-files/?d={name}" for name in names] + ["bad\0uri", None, "never-read"]
    for uri, name in zip(uris, names, strict=False):
        memo.store(files / name, os.stat(files / name), f"hash-{name}", uri=uri, scope="roots")
    memo.store(files / names[0], os.stat(files / names[0]), f"hash-{names[0]}", uri="bad\0uri", scope="roots")
    memo.store(files / names[0], os.stat(files / names[0]), f"hash-{names[0]}", uri=uris[0], scope="other roots")
    memo.save()
    reopened = ContentMemo(tmp_path / "cache")
    assert reopened.unchanged("roots", uris) == [f"hash-{name}" for name in names] + [None, None, None]
    assert reopened.unchanged("other roots", uris[:2]) == [f"hash-{names[0]}", None]
    assert reopened.unchanged("unknown roots", uris[:1]) == [None]
    assert reopened.facts("roots", uris[:2]) == [None, None]
    reopened.store(files / names[0], os.stat(files / names[0]), "video", uri=uris[0], scope="roots", facts=(25.0, 50))
    reopened.save()
    assert ContentMemo(tmp_path / "cache").facts("roots", uris[:2]) == [(25.0, 50), None]
    with np.load(reopened.path) as data:  # a memo written before facts were kept
        older = {key: data[key] for key in data.files if not key.startswith("fact_")}
    with reopened.path.open("wb") as handle:
        np.savez(handle, **older)
    assert ContentMemo(tmp_path / "cache").facts("roots", uris[:1]) == [None]
    assert ContentMemo(tmp_path / "cache").unchanged("roots", uris[:1]) == ["video"]
    (files / names[0]).write_bytes(b"changed, and longer than before")
    (files / names[1]).unlink()
    assert reopened.unchanged("roots", uris[:2]) == [None, None]
    for damage in (b"", b"PK\x03\x04 torn", b"not a zip at all"):
        reopened.path.write_bytes(damage)
        assert ContentMemo(tmp_path / "cache").unchanged("roots", uris[2:3]) == [None]
    with reopened.path.open("wb") as handle:  # columns of different lengths
        empty = np.zeros(0, np.int64)
        np.savez(handle, files=np.frombuffer(b"x", np.uint8), sizes=np.zeros(2, np.int64), mtimes=np.zeros(2),
                 digests=np.frombuffer(b"d", np.uint8), scopes=empty, scope_count=np.asarray(0),
                 uris=empty, uri_scope=empty, uri_file=empty)  # fmt: skip
    assert ContentMemo(tmp_path / "cache").unchanged("roots", uris[2:3]) == [None]


def _same_space(a: EmbeddingSpace, b: EmbeddingSpace) -> None:
    """Two spaces hold the same examples with the same vectors (up to the cache's float16)."""
    assert a.samples.tolist() == b.samples.tolist()
    assert np.allclose(a.vectors, b.vectors, atol=2e-3)
    assert a.content_hashes == b.content_hashes
    assert set(a.frame_vectors) == set(b.frame_vectors)
    for sample, frames in a.frame_vectors.items():
        assert np.allclose(frames, b.frame_vectors[sample], atol=2e-3)
    assert set(a.context_vectors) == set(b.context_vectors)
    for sample, context in a.context_vectors.items():
        assert np.allclose(context, b.context_vectors[sample], atol=2e-3)


def test_a_rerun_from_the_cache_gives_the_space_a_cold_run_gave(
    tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder, held_in: str
) -> None:
    """Boxes (crop plus whole-image context), whole images, and tasks with no region; then video segments
    (frames): all from the cache, then with files touched or changed, then with the cached vectors lost.
    Also as a large space is held: float16, the cache's batches and the space's vectors memory-mapped."""
    root = tmp_path / "data"
    for i in range(7):
        png(root / "img" / f"{i}.png", (30 * i, 90, 200))
    tasks = [box_task(i + 1, f"/data/local-files/?d=img/{i}.png", "a" if i % 2 else "b") for i in range(4)]
    tasks[1]["annotations"][0]["result"].append(  # type: ignore[index]
        {**tasks[1]["annotations"][0]["result"][0], "id": "second"}  # type: ignore[index]
    )
    tasks += [{"id": 5 + i, "data": {"image": f"/data/local-files/?d=img/{4 + i}.png"}} for i in range(3)]
    tasks.append(box_task(9, "/data/local-files/?d=img/missing.png", "a"))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    sources = MediaSources(roots={"ls-document-root": root})

    def run(what: Dataset) -> EmbeddingSpace:
        cache = EmbeddingCache(tmp_path / "cache", embedder.model_id, embedder.preprocess_id)
        return embed_dataset(what, embedder, sources, cache=cache, workers=1)

    cold = run(dataset)
    assert len(cold.samples) >= 5 and cold.context_vectors
    assert mapped_rows.file_backed(cold.vectors) == (held_in == "float16")
    _same_space(cold, run(dataset))
    _same_space(cold, embed_dataset(dataset, embedder, sources, cache=None, workers=1))
    picture = root / "img" / "3.png"  # unchanged by size and time is trusted, as make and rsync do: not read
    status, kept = picture.stat(), picture.read_bytes()
    picture.write_bytes(bytes(len(kept)))
    os.utime(picture, ns=(status.st_atime_ns, status.st_mtime_ns))
    _same_space(cold, run(dataset))
    picture.write_bytes(kept)
    (root / "img" / "0.png").touch()  # same content, new time: read and hashed again, nothing encoded
    before = {p.name for p in (tmp_path / "cache").rglob("batch-*.npz")}
    _same_space(cold, run(dataset))
    assert {p.name for p in (tmp_path / "cache").rglob("batch-*.npz")} == before
    png(root / "img" / "2.png", (1, 2, 3))  # new content: encoded again, the rest from the cache
    changed = run(dataset)
    fresh = embed_dataset(dataset, embedder, sources, cache=None, workers=1)
    _same_space(fresh, changed)
    for batch in (tmp_path / "cache").rglob("batch-*.npz"):  # vectors lost, hashes remembered: encoded again
        batch.unlink()
    _same_space(fresh, run(dataset))
    assert list((tmp_path / "cache").rglob("batch-*.npz"))

    video = _two_segments(tmp_path, tiny_weights)
    sources = MediaSources(media_root=tmp_path)
    cold = run(video)
    assert set(cold.frame_vectors) == {0, 1}
    _same_space(cold, run(video))


def test_missing_weights_fail_fast_with_a_way_out(tmp_path: Path) -> None:
    from taxospec.errors import EmbeddingError

    with pytest.raises(EmbeddingError, match="not in the local cache and this machine is offline"):
        OpenClipFactory().load("ViT-B-32", "laion2b_s34b_b79k", device="cpu")
    with pytest.raises(EmbeddingError, match="local-dir:"):
        OpenClipFactory().load("ViT-B-32", str(tmp_path / "missing.pt"), device="cpu")
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_damaged_weights_and_model_configs_are_clear_errors(tmp_path: Path, tiny_weights: Path) -> None:
    """A checkpoint that is not one, a checkpoint of another model, a config that is not JSON: each an
    `EmbeddingError` naming the file (exit 2 from the CLI), never an internal error."""
    import open_clip
    import torch

    from taxospec.errors import EmbeddingError

    (tmp_path / "random.pt").write_bytes(os.urandom(4096))
    other = tmp_path / "other.pt"
    torch.save({"visual.proj": torch.zeros(3, 3)}, other)
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    for weights, config, message in (
        (tmp_path / "random.pt", TINY, "random.pt cannot be loaded as TaxospecTiny-8 (damaged"),
        (other, TINY, "other.pt cannot be loaded as TaxospecTiny-8 (damaged, or made for another model)"),
        (tiny_weights, tmp_path / "config.json", "config.json is not an open_clip config (JSON)"),
        (tiny_weights, tmp_path / "list.json", "list.json is not an open_clip config: it needs embed_dim"),
    ):
        with pytest.raises(EmbeddingError, match=re.escape(message)):
            OpenClipFactory().load("TaxospecTiny-8", str(weights), device="cpu", architecture_file=str(config))
    assert "TaxospecTiny-8" in open_clip.list_models()
    if not torch.cuda.is_available():
        with pytest.raises(EmbeddingError, match="torch sees no CUDA GPU here; use --device cpu"):
            OpenClipFactory().load("TaxospecTiny-8", str(tiny_weights), device="cuda", architecture_file=str(TINY))
    loaded = OpenClipFactory().load("TaxospecTiny-8", str(tiny_weights), device="cpu", architecture_file=str(TINY))
    assert loaded.model_id, "a bad config refused earlier does not break later loads in the process"


def test_process_decoding_matches_thread_decoding(
    tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder
) -> None:
    """Decoding in worker processes (the GPU path) gives the vectors decoding in threads gives."""
    root = tmp_path / "data"
    for i in range(5):
        png(root / "img" / f"{i}.png", (50 * i, 30, 200))
    tasks = [box_task(i + 1, f"/data/local-files/?d=img/{i}.png", "a" if i % 2 else "b") for i in range(5)]
    tasks.append(box_task(6, "/data/local-files/?d=img/missing.png", "a"))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    sources = MediaSources(roots={"ls-document-root": root})
    threads = embed_dataset(dataset, embedder, sources, workers=2, processes=False)
    processes = embed_dataset(
        dataset,
        embedder,
        sources,
        workers=2,
        processes=True,
        cache=EmbeddingCache(tmp_path / "cache", embedder.model_id, embedder.preprocess_id),
    )
    assert threads.samples.tolist() == processes.samples.tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(threads.vectors, processes.vectors, atol=1e-4)
    assert sum(1 for issue in threads.issues if issue.code == "media-missing") == 1
    assert threads.issues == processes.issues
    assert not dataset.issues, "embedding must not write into the dataset it read"


def test_decoding_on_the_device_matches_pillow(tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder) -> None:
    """The GPU path (torchvision decoding and resizing on the model's device), run here on the CPU: the same
    vectors as Pillow's preprocessing up to resampling differences, and corrupt media still reported."""
    from PIL import Image

    root = tmp_path / "data"
    (root / "img").mkdir(parents=True)
    rng = np.random.default_rng(2)
    for i in range(6):
        picture = Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).resize((160, 120))
        picture.save(root / "img" / f"{i}.{'jpg' if i % 2 else 'png'}", quality=95)
    (root / "img" / "bad.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    tasks = [box_task(i + 1, f"/data/local-files/?d=img/{i}.{'jpg' if i % 2 else 'png'}", "a") for i in range(6)]
    tasks.append(box_task(7, "/data/local-files/?d=img/bad.jpg", "b"))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    sources = MediaSources(roots={"ls-document-root": root})
    pillow = embed_dataset(dataset, embedder, sources, device_decode=False)
    assert [i.code for i in pillow.issues] == ["media-unreadable"]
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    device = embed_dataset(dataset, embedder, sources, device_decode=True, batch_size=4)
    assert pillow.samples.tolist() == device.samples.tolist() == [0, 1, 2, 3, 4, 5]
    assert float((pillow.vectors * device.vectors).sum(axis=1).min()) > 0.98
    assert set(device.context_vectors) == set(pillow.context_vectors)
    assert [(i.code, i.task) for i in device.issues] == [("media-unreadable", 6)], "the corrupt JPEG"
    # batches decoded ahead of the encoder come back to the right examples, whatever the batch size
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    one_by_one = embed_dataset(dataset, embedder, sources, device_decode=True, batch_size=1)
    assert one_by_one.samples.tolist() == device.samples.tolist()
    assert np.allclose(one_by_one.vectors, device.vectors, atol=1e-5)


def test_media_found_nowhere_is_findings_not_a_crash(tmp_path: Path, tiny_weights: Path, run_cli: Any) -> None:
    """A media root that holds none of the export's media (a wrong --ls-document-root): every task is a
    media-missing finding and the embedding checks say why they skip."""
    _, export = boxes_export(tmp_path, 3)
    (tmp_path / "empty").mkdir()
    args = ["check", pipeline_spec(tmp_path, tiny_weights), export, "--ls-document-root", tmp_path / "empty"]
    result = run_cli(*args, "--cache-dir", tmp_path / "cache", "--device", "cpu", "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert sum(f["code"] == "media-missing" for f in report["findings"]) == 3
    skipped = {c["code"]: c["skipped"] for c in report["checks"] if c["code"] in ("outlier", "likely-mislabel")}
    assert all("too few to compare" in (reason or "") for reason in skipped.values()), skipped
    # a media root that is no folder at all is a mistake on the command line: exit 2 before anything runs
    (tmp_path / "file").write_text("x")
    for option in ("--media-root", "--ls-document-root", "--ls-media-root"):
        for root, why in ((tmp_path / "nowhere", "does not exist"), (tmp_path / "file", "is a file")):
            result = run_cli(*args[:3], option, root, "--cache-dir", tmp_path / "cache", "--device", "cpu")
            assert result.exit_code == 2 and why in result.stderr and option in result.stderr, result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_undecodable_images_are_named_plainly() -> None:
    """The message says what is wrong with the file, with nothing that changes from run to run."""
    from taxospec.embeddings.pictures import decode_image

    for data, why in ((b"", "an empty file"), (b"\x00\x01 not a picture", "no image format Pillow knows")):
        with pytest.raises(MediaProblem) as raised:
            decode_image(data, "x.png")
        assert raised.value.code == "media-unreadable" and str(raised.value) == f"x.png: not a readable image ({why})"


def test_undecodable_videos_are_named_plainly(tmp_path: Path) -> None:
    _video(tmp_path / "clip.mp4")
    whole = (tmp_path / "clip.mp4").read_bytes()
    for data, why in ((b"", "an empty file"), (b"\x00junk" * 300, "Invalid data found when processing input")):
        with pytest.raises(MediaProblem) as raised:
            video_frames(data, [0.5], "x.mp4")
        assert str(raised.value) == f"x.mp4: not a readable video ({why})"
    assert len(video_frames(whole, [0.5], "clip.mp4")) == 1


def test_refused_local_reads_close_their_descriptors(tmp_path: Path) -> None:
    """A folder given as media opened a descriptor that was never closed: over many such URIs a run ran
    out of descriptors (found by fuzzing the media resolver)."""
    import os

    from taxospec.media.files import read_file

    os.mkfifo(tmp_path / "pipe")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(300):
        for target in (tmp_path, tmp_path / "pipe", tmp_path / "missing"):
            with pytest.raises(MediaProblem):
                read_file(target, 1000)
    assert len(os.listdir("/proc/self/fd")) <= before + 2


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_picture_given_as_a_video_is_a_finding(kind: str) -> None:
    """FFmpeg opens a PNG or a JPEG as a video of one frame; as a task's video it is unreadable."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, kind)
    with pytest.raises(MediaProblem, match=f"x.mp4: is a {kind} picture, not a video") as raised:
        video_frames(buffer.getvalue(), [0.0], "x.mp4")
    assert raised.value.code == "media-unreadable"


@pytest.mark.parametrize("how", ["threads", "processes", "device"])
def test_a_box_with_no_area_costs_only_its_own_vector(
    tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder, how: str
) -> None:
    """A task with a good box and a box of zero width (or wholly outside the image): the good box is
    embedded, the other has no vector and no media finding (its rule findings say what is wrong)."""
    root, export = boxes_export(tmp_path, 2)
    tasks = json.loads(export.read_text())
    for task, value in zip(tasks, ({"width": 0}, {"x": 150}), strict=True):
        good = task["annotations"][0]["result"][0]
        task["annotations"][0]["result"].append({**good, "id": "bad", "value": {**good["value"], **value}})
    export.write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    good_rows = [s for s, region in enumerate(dataset.samples.region_id) if region != "bad"]
    options: dict[str, Any] = {
        "threads": {"workers": 2, "processes": False},
        "processes": {"workers": 2, "processes": True},
        "device": {"workers": 1, "device_decode": True},
    }[how]
    space = embed_dataset(dataset, embedder, MediaSources(roots={"ls-document-root": root}), **options)
    assert space.samples.tolist() == good_rows
    assert not [issue for issue in space.issues if issue.code.startswith("media-")]
    findings, _ = run_checks(dataset, select={"box-degenerate", "box-outside-image"})
    assert {f.code for f in findings} == {"box-degenerate", "box-outside-image"}


@pytest.mark.parametrize("frame_rate", [10, 25])
def test_the_video_itself_tells_its_length_and_frame_rate(tmp_path: Path, tiny_weights: Path, frame_rate: int) -> None:
    """A 20-frame clip at 10 fps: a segment running to frame 30 lies past its end, and a spec timing frames
    at 25 fps gets every time wrong. Both come from the video file, and again on a re-run that reads
    nothing (the memo keeps what the file said)."""
    _video(tmp_path / "clips" / "one.mp4")
    segment = lambda s, e, rid: {  # noqa: E731
        "id": rid,
        "from_name": "label",
        "to_name": "video",
        "type": "timelinelabels",
        "value": {"ranges": [{"start": s, "end": e}], "timelinelabels": ["a"]},
    }
    results = [segment(1, 8, "inside"), segment(15, 30, "past")]
    export = tmp_path / "clips.json"
    export.write_text(
        json.dumps([{"id": 7, "data": {"video": "clips/one.mp4"}, "annotations": [{"id": 1, "result": results}]}])
    )
    spec = pipeline_spec(tmp_path, tiny_weights, unit="segment", media="video")
    spec.write_text(spec.read_text() + f"labelstudio: {{frame_rate: {frame_rate}}}\n")
    for _ in range(2):  # the second run takes everything from the cache
        report = check(
            spec, export, media=MediaSources(media_root=tmp_path), cache_dir=tmp_path / "cache", device="cpu"
        )
        outside = [f for f in report.findings if f.code == "segment-outside-video"]
        assert [(f.region_id, f.message) for f in outside] == [("past", "the segment covers frames 15–30 of 20")]
        rates = [f.message for f in report.findings if f.code == "frame-rate-mismatch"]
        if frame_rate == 25:
            assert rates == [
                "the video runs at 10 fps, but its frames were timed at 25 fps: every segment time is off by "
                "60% (set labelstudio.frame_rate: 10)"
            ]
        else:
            assert rates == []
    without_media = check(spec, export)
    assert not [f for f in without_media.findings if f.code in ("segment-outside-video", "frame-rate-mismatch")]


def test_pictures_inlined_in_the_tasks_as_data_uris(tmp_path: Path, tiny_weights: Path) -> None:
    """Tasks that carry their picture as a data: URI are embedded without any media option; a data: URI
    that does not decode is a finding whose message shows the URI's start, not its megabytes."""
    import base64

    from taxospec.media.resolvers import DataUriResolver

    png(tmp_path / "one.png", (200, 30, 30))
    png(tmp_path / "two.png", (30, 200, 30))
    inline = [
        "data:image/png;base64," + base64.b64encode((tmp_path / name).read_bytes()).decode()
        for name in ("one.png", "two.png")
    ]
    broken = "data:image/png;base64," + "A" * 5001 + "!"
    tasks = [box_task(i + 1, uri, "a") for i, uri in enumerate([*inline, broken])]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    report = check(pipeline_spec(tmp_path, tiny_weights), export, cache_dir=tmp_path / "cache", device="cpu")
    skipped = {c.code: c.skipped for c in report.checks if c.code in ("outlier", "near-duplicate")}
    assert skipped == {"outlier": None, "near-duplicate": None}
    [problem] = [f for f in report.findings if f.code.startswith("media-")]
    assert problem.code == "media-unreadable" and problem.task_id == 3 and len(problem.message) < 200
    assert "(5,024 characters)" in problem.message and report.media == {}
    sources = MediaSources()
    resolver = DataUriResolver()
    assert resolver.read("data:text/plain,a%20b", sources) == b"a b"
    for uri, code in (("data:image/png;base64", "media-unreadable"), (broken, "media-unreadable")):
        with pytest.raises(MediaProblem) as raised:
            resolver.read(uri, sources)
        assert raised.value.code == code
    with pytest.raises(MediaProblem, match="larger than 10 bytes"):
        resolver.read(inline[0], MediaSources(max_bytes=10))
    unloadable = pipeline_spec(tmp_path, tmp_path / "no-such-weights.pt")  # pictures came unasked: no error
    quiet = check(unloadable, export, cache_dir=tmp_path / "cache", device="cpu")
    assert any("pictures inlined in the tasks were not embedded" in note for note in quiet.notes)
    assert all(c.skipped for c in quiet.checks if c.code in ("outlier", "near-duplicate"))
    with pytest.raises(EmbeddingError, match=re.escape("no-such-weights.pt does not exist")):  # asked: it must
        check(unloadable, export, media=MediaSources(media_root=tmp_path), cache_dir=tmp_path / "cache")


def _jpeg(size: tuple[int, int] = (16, 8), **options: Any) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _declaring(data: bytes, width: int, height: int) -> bytes:
    """`data` with another size written into its header: a small file that declares a huge picture."""
    import struct
    import zlib

    if data.startswith(b"\x89PNG"):
        header = data[12:16] + struct.pack(">II", width, height) + data[24:29]
        return data[:12] + header + struct.pack(">I", zlib.crc32(header)) + data[33:]
    at = data.find(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def test_jpeg_size_comes_from_the_frame_header() -> None:
    from PIL import Image

    from taxospec.embeddings.jpeg import jpeg_size

    exif = Image.Exif()
    exif[0x010E] = "x" * 5000  # a long APP1 segment before the frame header
    for data in (_jpeg(), _jpeg((640, 480), progressive=True), _jpeg((33, 700), exif=exif), _jpeg((5, 5), quality=5)):
        import io

        with Image.open(io.BytesIO(data)) as image:
            assert jpeg_size(data) == image.size
    assert jpeg_size(_declaring(_jpeg(), 30000, 20000)) == (30000, 20000)
    whole = _jpeg()
    for data in (whole[:12], b"\x89PNG\r\n", b"", b"\xff\xd8" + b"\xff\xfe\x00\x02" * 300, b"\xff\xd8\xff\xda\x00\x08"):
        assert jpeg_size(data) is None, data[:20]


def test_huge_pictures_are_refused_before_decoding(
    tmp_path: Path, tiny_weights: Path, embedder: OpenClipEmbedder
) -> None:
    """A small file that declares more than MAX_PIXELS pixels is `media-refused` on every path (Pillow, the
    device stage, the report's pictures), named with its size, and nothing is decoded; pictures below the
    limit and files that are no picture are left to decoding."""
    import subprocess
    import sys

    from taxospec.embeddings.pictures import decode_image, refuse_huge

    png_bytes = tmp_path / "p.png"
    png(png_bytes, (10, 20, 30))
    small_png = png_bytes.read_bytes()
    huge = {
        "wide.jpg": (_declaring(_jpeg(), 20000, 6000), "20000×6000 pixels"),
        "wide.png": (_declaring(small_png, 11000, 10000), "11000×10000 pixels"),
        "bomb.png": (_declaring(small_png, 30000, 30000), "900,000,000 pixels"),  # past Pillow's own guard
    }
    for name, (data, size) in huge.items():
        for refuse in (decode_image, refuse_huge):
            with pytest.raises(MediaProblem) as raised:
                refuse(data, name)
            assert raised.value.code == "media-refused", name
            assert (
                str(raised.value) == f"{name}: {size}, above the limit of 100,000,000 pixels (refused before decoding)"
            )
    for data in (_jpeg(), small_png, b"not a picture", b"\xff\xd8\xff"):
        refuse_huge(data, "fine")
    # Pillow's warning between its limit and twice it is not printed: taxospec refuses those itself
    script = "\n".join(
        (
            "from taxospec.embeddings.pictures import decode_image",
            f"try: decode_image({huge['wide.png'][0]!r}, 'x')",
            "except Exception: pass",
        )
    )
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert quiet.stderr == ""

    root = tmp_path / "data"
    for i in range(3):
        png(root / "img" / f"{i}.png", (60 * i, 90, 200))
    for name, (data, _) in huge.items():
        (root / "img" / name).write_bytes(data)
    names = [f"{i}.png" for i in range(3)] + list(huge)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([box_task(i + 1, f"/data/local-files/?d=img/{n}", "a") for i, n in enumerate(names)]))
    for device_decode in (False, True):
        dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
        space = embed_dataset(
            dataset, embedder, MediaSources(roots={"ls-document-root": root}), device_decode=device_decode
        )
        assert sorted((i.code, i.task) for i in space.issues) == [("media-refused", t) for t in (3, 4, 5)]
        assert len(space.samples) == 3


def test_damaged_pngs_do_not_crash_the_device_stage(tmp_path: Path) -> None:
    """torchvision's PNG decoder dies (SIGSEGV) on a PNG with one damaged byte; the device stage decodes
    every picture that is not a JPEG with Pillow, which reports the damage. Run in a child process, so that
    a crash fails this test instead of ending the test run."""
    import io
    import subprocess
    import sys

    from PIL import Image

    rng = np.random.default_rng(5)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    good = buffer.getvalue()
    damaged = good[:200] + bytes([good[200] ^ 0xFF]) + good[201:]
    palette = Image.new("P", (4, 2), 0)
    palette.putpalette([17, 34, 51, 68, 85, 102])
    palette.putpixel((1, 0), 1)
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", transparency=bytes([0, 128]))
    cmyk = io.BytesIO()
    Image.new("CMYK", (16, 8), (10, 200, 30, 0)).save(cmyk, "JPEG")
    pictures = [damaged, good, buffer.getvalue(), _jpeg()[:300], cmyk.getvalue()]
    (tmp_path / "pictures.json").write_text(json.dumps([p.hex() for p in pictures]))
    script = "\n".join(
        (
            "import json, sys",
            "from taxospec.embeddings.device_stage import decode_on_device",
            "raws = [bytes.fromhex(h) for h in json.load(open(sys.argv[1]))]",
            "out = decode_on_device(raws, 'cpu')",
            "print(json.dumps([None if t is None else t.permute(1, 2, 0).tolist() for t in out]))",
        )
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "pictures.json")], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    decoded = json.loads(child.stdout)
    assert decoded[0] is None, "the damaged PNG"
    from taxospec.embeddings.pictures import decode_image

    for raw, pixels in zip(pictures[1:3], decoded[1:3], strict=True):  # as Pillow's path shows them
        assert np.array_equal(np.asarray(pixels), np.asarray(decode_image(raw, "x.png")))
    assert np.asarray(decoded[2])[0, 0].tolist() == [255, 255, 255], "the palette's transparent colour"
    assert decoded[3] is None, "a JPEG cut short in its header"
    assert np.asarray(decoded[4]).shape == (8, 16, 3), "a CMYK JPEG"


def test_a_model_that_gives_nan_is_an_error_and_nothing_dead_is_cached(
    tmp_path: Path, tiny_weights: Path, run_cli: Any
) -> None:
    """Weights with NaN in them (a damaged checkpoint) give vectors without a direction: the run stops with
    the reason (exit 2) instead of reporting findings on vectors that are all alike, and the cache keeps
    none of them; a few dead vectors among good ones are left out with a note."""
    import torch

    from taxospec.embeddings.assembly import Assembled, without_dead_vectors

    state = torch.load(tiny_weights)
    for name, tensor in state.items():
        if "proj" in name and tensor.dtype.is_floating_point:
            tensor.fill_(float("nan"))
    broken = tmp_path / "nan.pt"
    torch.save(state, broken)
    root, export = boxes_export(tmp_path, 12)
    spec = pipeline_spec(tmp_path, broken)
    result = run_cli(
        "check", spec, export, "--ls-document-root", root, "--cache-dir", tmp_path / "c", "--device", "cpu"
    )
    assert result.exit_code == 2, result.stderr
    assert "the model gave no usable vector: NaN, infinite or zero for all 12 examples" in result.stderr
    assert not list((tmp_path / "c").rglob("*batch*")), "no dead vector in the cache"
    state = torch.load(tiny_weights)
    state["text_projection"].fill_(float("nan"))  # the text tower alone: the prompts' vectors are dead
    torch.save(state, broken)
    result = run_cli(
        "check", spec, export, "--ls-document-root", root, "--cache-dir", tmp_path / "c", "--device", "cpu"
    )
    assert result.exit_code == 2, result.stderr + result.stdout[-3000:]
    assert "text encoder gave no usable vector (NaN, infinite or zero) for 2 of 2 prompts" in result.stderr, (
        result.stdout[-3000:]
    )
    cache = EmbeddingCache(tmp_path / "c2", "m", "p")
    cache.put(["a", "b", "c"], np.array([[1, 0], [np.nan, 0], [0, 0]], dtype=np.float32))
    assert "a" in cache and "b" not in cache and "c" not in cache
    vectors = np.array([[1, 0], [0, 0], [0, 1]], dtype=np.float32)
    assembled = Assembled(
        np.array([4, 5, 6]), vectors, {5: vectors[:2]}, {4: vectors[0], 6: np.array([np.nan, 1], np.float32)}
    )
    kept, dead = without_dead_vectors(assembled)
    assert (
        dead == 1 and kept.samples.tolist() == [4, 6] and kept.frame_vectors == {} and list(kept.context_vectors) == [4]
    )


def test_cloud_storage_uris_are_read_from_a_mapped_local_copy(tmp_path: Path, tiny_weights: Path, run_cli: Any) -> None:
    """`--media-map s3://bucket/=FOLDER` reads Label Studio's cloud-storage URIs from a local mirror (an
    http prefix too, without its query), the longest prefix first, never outside the folder; an unmapped
    bucket is refused with the option to use."""
    from taxospec.media.dispatch import locate_media

    mirror, cdn, other = tmp_path / "mirror", tmp_path / "cdn", tmp_path / "other"
    for i in range(4):
        png(mirror / "img" / f"{i}.png", (50 * i, 90, 200))
    png(cdn / "x y.png", (10, 10, 10))
    png(other / "img" / "0.png", (1, 1, 1))
    png(tmp_path / "outside.png", (1, 2, 3))
    uris = [f"s3://bucket/img/{i}.png" for i in range(4)]
    uris += ["https://cdn.example.com/media/x%20y.png?X-Amz-Signature=abc#f", "s3://bucket/../outside.png"]
    uris += ["gs://elsewhere/img/0.png", "s3://bucket/special/img/0.png"]
    export = tmp_path / "export.json"
    export.write_text(json.dumps([box_task(i + 1, uri, "a") for i, uri in enumerate(uris)]))
    mapping = ["--media-map", f"s3://bucket/={mirror}", "--media-map", f"https://cdn.example.com/media/={cdn}"]
    mapping += ["--media-map", f"s3://bucket/special/={other}"]
    base = ["check", pipeline_spec(tmp_path, tiny_weights), export, "--cache-dir", tmp_path / "c", "--device", "cpu"]
    result = run_cli(*base, *mapping, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    problems = {f["task_id"]: (f["code"], f["message"]) for f in report["findings"] if f["code"].startswith("media")}
    assert set(problems) == {6, 7}, problems
    assert problems[6][0] == "media-refused" and "escapes its root" in problems[6][1]
    assert problems[7] == (
        "media-refused",
        "gs://elsewhere/img/0.png: no resolver reads this kind of URI "
        "(read a local copy with --media-map gs://elsewhere/=FOLDER)",
    )
    assert sum(c["evaluated"] for c in report["checks"] if c["code"] == "outlier") == 6, "six pictures embedded"
    sources = MediaSources(mapped=(("s3://bucket/", mirror), ("s3://bucket/special/", other)))
    assert locate_media("s3://bucket/special/img/0.png", sources) == str((other / "img" / "0.png").resolve())
    for bad in (f"s3://bucket/={tmp_path / 'nowhere'}", "no-equals-sign", f"={mirror}"):
        refused = run_cli(*base, "--media-map", bad)
        assert refused.exit_code == 2 and "--media-map" in refused.stderr, refused.stderr


def test_photos_are_turned_upright_as_label_studio_shows_them() -> None:
    """A photo stored sideways with an EXIF orientation (phones do this) is embedded and cropped upright, as
    browsers and so Label Studio show it and its boxes are drawn — on Pillow's path and on the device
    path (where nvJPEG applies no orientation), for all eight orientations; Pillow's `exif_transpose` is
    the reference."""
    import io

    from PIL import Image, ImageOps

    from taxospec.embeddings.device_stage import decode_on_device
    from taxospec.embeddings.jpeg import jpeg_header
    from taxospec.embeddings.pictures import decode_image

    rng = np.random.default_rng(8)
    stored = Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).resize((64, 48), Image.NEAREST)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        exif[0x010F] = "taxospec"  # another tag before it, as cameras write them
        buffer = io.BytesIO()
        stored.save(buffer, "JPEG", quality=98, exif=exif)
        data = buffer.getvalue()
        with Image.open(io.BytesIO(data)) as opened:
            expected = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"), dtype=np.int16)
        assert jpeg_header(data) == (64, 48, orientation)
        pillow = np.asarray(decode_image(data, "x.jpg"), dtype=np.int16)
        [tensor] = decode_on_device([data], "cpu")
        device = tensor.permute(1, 2, 0).numpy().astype(np.int16)
        for got in (pillow, device):
            assert got.shape == expected.shape, orientation
            assert np.abs(got - expected).mean() < 3, orientation
    png_buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(png_buffer, "PNG", exif=exif)
    assert decode_image(png_buffer.getvalue(), "x.png").size == (48, 64), "any format with an orientation"


def test_videos_recorded_sideways_are_turned_as_players_show_them(tmp_path: Path) -> None:
    """A video whose display matrix turns it (phones record sideways and mark it so) gives frames turned the
    same way, as browsers and so Label Studio's player show it and its boxes are drawn."""
    import struct

    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        pixels = np.zeros((48, 64, 3), dtype=np.uint8)
        pixels[:, :32] = 230  # the left half bright
        for _ in range(10):
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    plain = path.read_bytes()
    data = bytearray(plain)
    at = data.find(b"tkhd") + 4 + 1 + 3 + 4 * 5 + 8 + 2 * 4  # the track header's matrix (version 0)
    data[at : at + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)  # 90° clockwise
    [upright] = video_frames(plain, [0.5], "plain.mp4")
    [turned] = video_frames(bytes(data), [0.5], "turned.mp4")
    assert upright.size == (64, 48) and turned.size == (48, 64)
    shown = np.asarray(turned, dtype=np.float32).mean(axis=2)
    assert shown[:32].mean() > 150 > 50 > shown[32:].mean(), "the left half, turned clockwise, is on top"


def test_deep_pictures_are_shown_as_a_browser_shows_them() -> None:
    """16-bit pictures (medical, industrial cameras) by their high byte, as browsers show them — Pillow's own
    conversion clips them at 255, nearly all white; 32-bit and floating-point ones over their range."""
    import io

    from PIL import Image

    from taxospec.embeddings.pictures import decode_image

    ramp = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    for fmt in ("PNG", "TIFF"):
        buffer = io.BytesIO()
        Image.fromarray(ramp).save(buffer, fmt)
        shown = np.asarray(decode_image(buffer.getvalue(), f"deep.{fmt}"), dtype=np.float64)
        assert shown.shape == (48, 64, 3) and abs(shown.mean() - (ramp >> 8).mean()) < 1, fmt
    for values in (np.linspace(-3.0, 5.0, 48 * 64).astype(np.float32), np.linspace(0, 4000, 48 * 64).astype(np.int32)):
        buffer = io.BytesIO()
        Image.fromarray(values.reshape(48, 64)).save(buffer, "TIFF")
        shown = np.asarray(decode_image(buffer.getvalue(), "deep.tiff"))
        assert shown.min() == 0 and shown.max() >= 250 and 100 < shown.mean() < 155, values.dtype


@pytest.mark.parametrize("codec", ["mpeg4", "libx264"])
def test_seeking_ahead_gives_the_frames_decoding_everything_gives(codec: str) -> None:
    """Moments far apart in a long video are reached by seeking to the keyframe before each (a segment near
    the end of an hour-long video no longer costs decoding the hour); the frames are exactly those that
    decoding the whole video gives, with B-frames too, past the end and before the first frame."""
    import io
    import math

    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "25", "bf": "2"} if codec == "libx264" else {"g": "25"}
        for i in range(300):
            pixels = np.zeros((48, 64, 3), dtype=np.uint8)
            pixels[:, : 2 + i % 60] = 200
            pixels[: 1 + i // 10] = 90
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = buffer.getvalue()
    times = [0.0, 0.04, 1.0, 1.05, 5.5, 12.3, 12.35, 18.0, 27.0, 29.95, 45.0, 3.0]
    everything = video_frames(data, times, "clip.mp4", seek_ahead=math.inf)
    sought = video_frames(data, times, "clip.mp4", seek_ahead=2.0)
    for t, a, b in zip(times, everything, sought, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b)), t
    assert not np.array_equal(np.asarray(everything[4]), np.asarray(everything[5]))


def test_transparent_pictures_are_shown_on_white() -> None:
    """Transparent parts (a product cut out of its background) are shown on white, as on a web page — not
    in whatever colour the transparent pixels hold (Pillow's own conversion: mostly black)."""
    import io

    from PIL import Image

    from taxospec.embeddings.pictures import decode_image

    cutout = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    cutout.paste((200, 30, 30, 255), (16, 12, 48, 36))
    palette = cutout.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    for picture, fmt in ((cutout, "PNG"), (cutout.convert("LA"), "PNG"), (cutout, "WEBP")):
        buffer = io.BytesIO()
        picture.save(buffer, fmt, lossless=True)
        shown = np.asarray(decode_image(buffer.getvalue(), f"cutout.{fmt}"))
        assert tuple(shown[2, 2]) == (255, 255, 255), (picture.mode, fmt)
        assert shown[24, 32].tolist() != [255, 255, 255]
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", transparency=palette.getpixel((0, 0)))
    assert tuple(np.asarray(decode_image(buffer.getvalue(), "p.png"))[2, 2]) == (255, 255, 255)
