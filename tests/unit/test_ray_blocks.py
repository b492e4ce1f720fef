"""The tasks to read reach Ray Data in blocks cut as `ray.data.from_items` cuts a list: every task once, in
order, no block empty, at least 200 blocks (twice the CPUs on a larger cluster) where there are as many
tasks — the decoding tasks' units of work, so a killed worker costs one block."""

from __future__ import annotations

import pyarrow as pa
import pytest

from taxospec.embeddings.ray_stage import MIN_BLOCKS, blocks


@pytest.mark.parametrize(
    ("tasks", "cpus", "count"),
    [(0, 2, 1), (1, 2, 1), (4, 2, 4), (199, 2, 199), (1000, 2, MIN_BLOCKS), (1000, 300, 600), (100_003, 64, 200)],
)
def test_every_task_once_in_order_in_the_expected_number_of_blocks(tasks: int, cpus: int, count: int) -> None:
    rows = pa.table({"task": pa.array(range(tasks), pa.int64()), "uri": pa.array([f"f{i}" for i in range(tasks)])})
    cut = blocks(rows, cpus)
    assert len(cut) == count
    assert [t for block in cut for t in block.column("task").to_pylist()] == list(range(tasks))
    assert tasks == 0 or all(block.num_rows > 0 for block in cut)
    sizes = [block.num_rows for block in cut]
    assert max(sizes) - min(sizes) <= 1  # as even as from_items makes them
