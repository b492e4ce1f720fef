"""Exact neighbour search with torch on a GPU, for machines whose faiss has no GPU support.

FAISS's GPU builds need CUDA libraries of their own (faiss-gpu-cu12 pulls CUDA 12's cuBLAS); where only
faiss-cpu is installed but torch sees a GPU, one fp32 matrix product per block of queries on the GPU
gives the exact k-NN graph and the exact range search at any size, no approximation needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

BLOCK_BYTES = 1 << 30
"""Similarities held on the device per block of queries (the block's rows × all vectors, fp32)."""


class TorchSearch:
    """Exact search over vectors held on a torch device: inner product ("ip", cosine on unit vectors) or
    negative squared Euclidean distance ("l2"), larger is nearer either way."""

    def __init__(self, vectors: npt.NDArray[np.float32], device: str, metric: str = "ip") -> None:
        import torch

        self.torch = torch
        self.device = device
        self.metric = metric
        self.matrix = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).to(device)
        self.norms = (self.matrix**2).sum(dim=1) if metric == "l2" else None
        n = len(vectors)
        self.block = int(min(16384, max(128, BLOCK_BYTES // (4 * max(1, n)))))

    def _blocks(self) -> Any:
        torch = self.torch
        n = self.matrix.shape[0]
        for start in range(0, n, self.block):
            stop = min(n, start + self.block)
            with torch.inference_mode():
                sims = self.matrix[start:stop] @ self.matrix.T
                if self.norms is not None:  # -|a - b|^2 = 2ab - |a|^2 - |b|^2
                    sims = 2 * sims - self.norms[start:stop, None] - self.norms[None, :]
                rows = torch.arange(stop - start, device=self.device)
                sims[rows, rows + start] = -torch.inf  # a vector is not its own neighbour
                yield start, sims

    def knn(self, k: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Similarities and ids of each vector's `k` nearest others, best first; rows with fewer than `k`
        others are padded with id -1 and similarity -inf."""
        n = self.matrix.shape[0]
        width = min(k, n - 1)
        out_sims = np.full((n, k), -np.inf, dtype=np.float32)
        out_ids = np.full((n, k), -1, dtype=np.int64)
        if width <= 0:
            return out_sims, out_ids
        for start, sims in self._blocks():
            top = self.torch.topk(sims, width, dim=1)
            stop = start + sims.shape[0]
            out_sims[start:stop, :width] = top.values.cpu().numpy()
            out_ids[start:stop, :width] = top.indices.cpu().numpy()
        return out_sims, out_ids

    def search(self, queries: npt.NDArray[np.float32], k: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Similarities and ids of the `k` nearest held vectors to each query, best first."""
        torch = self.torch
        with torch.inference_mode():
            q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32)).to(self.device)
            sims = q @ self.matrix.T
            if self.norms is not None:
                sims = 2 * sims - (q**2).sum(dim=1)[:, None] - self.norms[None, :]
            top = torch.topk(sims, min(k, self.matrix.shape[0]), dim=1)
            return top.values.cpu().numpy(), top.indices.cpu().numpy().astype(np.int64)

    def pairs_above(self, threshold: float) -> list[tuple[int, int, float]]:
        """Every pair (i < j) with similarity ≥ `threshold`, exactly."""
        torch = self.torch
        pairs: list[tuple[int, int, float]] = []
        for start, sims in self._blocks():
            rows = torch.arange(start, start + sims.shape[0], device=self.device)[:, None]
            columns = torch.arange(sims.shape[1], device=self.device)[None, :]
            hits = ((sims >= threshold) & (columns > rows)).nonzero()
            values = sims[hits[:, 0], hits[:, 1]].cpu().numpy()
            for (i, j), s in zip(hits.cpu().numpy().tolist(), values.tolist(), strict=True):
                pairs.append((start + i, j, float(s)))
        return pairs


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False where torch is missing)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
