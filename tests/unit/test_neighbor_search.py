"""The neighbour searches agree: faiss (exact and approximate) and the torch search that GPUs without
faiss-gpu use, run here on the CPU with blocks small enough to cross block boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from taxospec.embeddings.index import NeighborIndex
from taxospec.embeddings.space import normalize
from taxospec.embeddings.torch_search import TorchSearch


def _clustered(n: int, dim: int = 32, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, dim))
    vectors = centres[rng.integers(0, 8, n)] + 0.4 * rng.normal(size=(n, dim))
    if n >= 10:
        vectors[:5] = vectors[5:10] + 1e-3 * rng.normal(size=(5, dim))  # five near-copies
    return normalize(vectors)


def test_torch_knn_equals_faiss_across_blocks() -> None:
    vectors = _clustered(600)
    faiss_sims, faiss_ids = NeighborIndex(vectors, device="cpu").knn(10)
    search = TorchSearch(vectors, "cpu")
    search.block = 37  # many blocks, the last one partial
    sims, ids = search.knn(10)
    assert (ids == faiss_ids).mean() > 0.999  # ties in the last decimals may swap two neighbours
    np.testing.assert_allclose(sims, faiss_sims, atol=1e-5)
    assert not (ids == np.arange(600)[:, None]).any()  # never its own neighbour


def test_torch_pairs_equal_faiss_range_search() -> None:
    vectors = _clustered(400)
    expected = NeighborIndex(vectors, device="cpu").pairs_above(0.99)
    search = TorchSearch(vectors, "cpu")
    search.block = 50
    found = search.pairs_above(0.99)
    assert {(i, j) for i, j, _ in found} == {(i, j) for i, j, _ in expected}
    assert {(i, j) for i, j, _ in found} >= {(i, i + 5) for i in range(5)}
    assert all(i < j for i, j, _ in found)


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
def test_fewer_vectors_than_neighbours_are_padded(device: str) -> None:
    vectors = _clustered(4)
    sims, ids = NeighborIndex(vectors, device=device).knn(6)
    assert ids.shape == (4, 6) and (ids[:, 3:] == -1).all() and np.isneginf(sims[:, 3:]).all()
    assert sorted(ids[0, :3].tolist()) == [1, 2, 3]
    one = NeighborIndex(vectors[:1], device=device).knn(3)[1]
    assert (one == -1).all()


def test_auto_stays_on_the_cpu_without_a_gpu() -> None:
    index = NeighborIndex(_clustered(50), device="auto")
    assert index.torch_search is None and not index.on_gpu
    assert NeighborIndex(_clustered(50), device="torch:cpu").torch_search is not None


def test_euclidean_search_agrees_between_faiss_torch_and_numpy() -> None:
    rng = np.random.default_rng(9)
    points = (rng.normal(size=(300, 6)) * rng.uniform(0.1, 5, size=(300, 1))).astype(np.float32)  # not unit
    exact = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(exact, np.inf)
    expected = np.argsort(exact, axis=1)[:, :5]
    for device in ("cpu", "torch:cpu"):
        sims, ids = NeighborIndex(points, device=device, metric="l2").knn(5)
        assert (ids == expected).mean() > 0.99, device
        np.testing.assert_allclose(-sims, np.take_along_axis(exact, ids, axis=1), rtol=1e-3, atol=1e-3)
        queries = points[:7] + 0.01
        near_sims, near_ids = NeighborIndex(points, device=device, metric="l2").search(queries, 3)
        assert (near_ids[:, 0] == np.arange(7)).all() and (near_sims <= 0).all()
    pairs = NeighborIndex(points, device="cpu", metric="l2").pairs_above(-0.05)
    close = {(i, j) for i, j in zip(*np.nonzero(np.triu(exact <= 0.05, 1)), strict=True)}
    assert {(i, j) for i, j, _ in pairs} == close


def test_the_approximate_index_keeps_float16_vectors_without_losing_neighbours() -> None:
    """Above `APPROXIMATE_ABOVE` the lists hold float16 (IVF-SQfp16): on vectors at the cache's precision
    the neighbours are those of IVF over float32 (the same lists and probes) and the similarities are the
    exact ones, to float16 rounding."""
    import faiss

    from taxospec.embeddings.jobs import as_stored

    vectors = as_stored(_clustered(3000, dim=64)).astype(np.float32)
    approximate = NeighborIndex(vectors, device="cpu", approximate_above=0)
    exact = NeighborIndex(vectors, device="cpu", approximate_above=10**9)
    assert isinstance(approximate.index, faiss.IndexIVFScalarQuantizer) and approximate.approximate
    sims, ids = approximate.knn(10)
    exact_sims, exact_ids = exact.knn(10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ids, exact_ids, strict=True)])
    assert recall >= 0.98  # the inverted file's own approximation (8 of 54 lists probed)
    quantizer = faiss.IndexFlatIP(64)
    float32 = faiss.IndexIVFFlat(quantizer, 64, approximate.index.nlist, faiss.METRIC_INNER_PRODUCT)
    float32.train(vectors[np.random.default_rng(0).permutation(3000)[: approximate.index.nlist * 64]])
    float32.add(vectors)
    float32.nprobe = 8
    flat_ids = float32.search(vectors, 11)[1][:, 1:]
    assert (flat_ids[:, :5] == ids[:, :5]).mean() >= 0.99, "float16 lists find what float32 lists find"
    same = ids[:, 0] == exact_ids[:, 0]
    np.testing.assert_allclose(sims[same, 0], exact_sims[same, 0], atol=2e-3)


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_the_graph_searched_a_chunk_of_queries_at_a_time_is_the_graph_searched_whole(
    monkeypatch: pytest.MonkeyPatch, metric: str
) -> None:
    from taxospec.embeddings import index as index_module

    vectors = normalize(np.random.default_rng(11).normal(size=(103, 16)))
    vectors[50] = vectors[49]  # a tie: the self-exclusion must not drop the twin
    whole = NeighborIndex(vectors, device="cpu", metric=metric).knn(6)
    monkeypatch.setattr(index_module, "QUERY_CHUNK", 10)
    chunked = NeighborIndex(vectors, device="cpu", metric=metric).knn(6)
    assert np.array_equal(chunked[1], whole[1]) and np.allclose(chunked[0], whole[0])
    assert 50 in chunked[1][49] and 49 in chunked[1][50]


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_float16_rows_are_indexed_as_they_are_and_a_large_inverted_file_goes_after_the_graph(
    monkeypatch: pytest.MonkeyPatch, metric: str
) -> None:
    """A large space's float16 rows are indexed a chunk at a time without a float32 copy, and find what
    the same rows in float32 find; above `HALF_ABOVE` the inverted file goes once the graph is built (the
    checks read the graph) and a later search builds it again, with the same answers."""
    from taxospec.scores import chunked

    half = _clustered(2000, dim=32).astype(np.float16)
    monkeypatch.setattr(chunked, "CHUNK", 300)
    exact16 = NeighborIndex(half, device="cpu", metric=metric)
    assert exact16.vectors is half, "float16 rows are not copied into float32"
    exact32 = NeighborIndex(half.astype(np.float32), device="cpu", metric=metric)
    assert np.array_equal(exact16.knn(8)[1], exact32.knn(8)[1])
    queries = half[:7].astype(np.float32)
    kept = NeighborIndex(half, device="cpu", metric=metric, approximate_above=0)
    expected = kept.search(queries, 5)
    monkeypatch.setattr(chunked, "HALF_ABOVE", 1000)
    released = NeighborIndex(half, device="cpu", metric=metric, approximate_above=0)
    graph = released.knn(8)
    assert released.index is None, "the inverted file went with the graph built"
    assert np.array_equal(graph[1], kept.knn(8)[1])
    again = released.search(queries, 5)
    assert released.index is not None
    assert np.array_equal(again[1], expected[1]) and np.allclose(again[0], expected[0])
    assert released.knn(4)[1].shape == (2000, 4), "a smaller graph is read from the one built"


def test_above_the_eight_bit_size_the_lists_hold_8_bit_codes_and_keep_most_neighbours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above `EIGHT_BIT_ABOVE` the inverted file holds a byte a component (IVF-SQ8: half of float16's
    memory); it still finds most of the exact neighbours and every planted near-copy first."""
    import faiss

    from taxospec.embeddings import index as index_module

    vectors = _clustered(3000, dim=64)
    monkeypatch.setattr(index_module, "EIGHT_BIT_ABOVE", 0)
    eight = NeighborIndex(vectors, device="cpu", approximate_above=0)
    assert eight.index.sq.qtype == faiss.ScalarQuantizer.QT_8bit and eight.index.code_size == 64
    exact = NeighborIndex(vectors, device="cpu", approximate_above=10**9)
    ids, exact_ids = eight.knn(10)[1], exact.knn(10)[1]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ids, exact_ids, strict=True)])
    assert recall >= 0.9
    assert [ids[i, 0] for i in range(5)] == [i + 5 for i in range(5)], "each near-copy finds its original first"


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_exact_search_by_chunks_equals_the_flat_index(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from taxospec.embeddings.index import exact_search
    from taxospec.scores import chunked

    monkeypatch.setattr(chunked, "CHUNK", 170)  # many chunks of rows, the last one partial
    vectors = _clustered(1000)
    graph_sims, graph_ids = NeighborIndex(vectors, device="cpu", metric=metric).knn(8)
    rows = np.arange(0, 1000, 7)
    sims, ids = exact_search(vectors, vectors[rows], 8, metric=metric, exclude=rows)
    assert (ids == graph_ids[rows]).mean() > 0.999
    np.testing.assert_allclose(sims, graph_sims[rows], atol=1e-5)
    among = np.arange(1, 1000, 3)
    sims, ids = exact_search(vectors, vectors[rows], 8, metric=metric, among=among)
    expected = NeighborIndex(vectors[among], device="cpu", metric=metric).search(vectors[rows], 8)[1]
    assert (ids == among[expected]).mean() > 0.999


def test_exact_search_pads_when_there_are_fewer_rows_than_asked() -> None:
    from taxospec.embeddings.index import exact_search

    vectors = _clustered(4)
    sims, ids = exact_search(vectors, vectors[:2], 5, exclude=np.array([0, 1]))
    assert ids.shape == (2, 5) and (ids[:, 3:] == -1).all() and np.isneginf(sims[:, 3:]).all()
    assert 0 not in ids[0] and 1 not in ids[1] and set(ids[0, :3].tolist()) == {1, 2, 3}
