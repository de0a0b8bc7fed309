"""Grouping 256-bit hashes within a Hamming distance, without comparing all pairs.

Multi-index hashing: split the bits into max_distance + 1 chunks. Two hashes within
max_distance bits differ in at most max_distance chunks, so they agree exactly on at least one
(pigeonhole). Candidates are the pairs sharing some chunk value, found by sorting each chunk;
only those are compared, with vectorised popcounts. Groups are connected components.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def as_matrix(hashes: list[bytes]) -> np.ndarray:
    """(n, 32) uint8 rows from 32-byte hashes."""
    return np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), -1)


def hamming(matrix: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Bit distance between rows left[k] and right[k] of a (n, 32) uint8 matrix."""
    words = matrix.view(np.uint64)
    return np.bitwise_count(words[left] ^ words[right]).sum(axis=1)


def close_pairs(matrix: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i < j) of rows within max_distance bits."""
    unique, inverse = np.unique(matrix, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    left, right = _same_row_pairs(inverse)
    if max_distance > 0 and len(unique) > 1:
        u_left, u_right = _candidate_pairs(unique, max_distance + 1)
        near = hamming(unique, u_left, u_right) <= max_distance
        a, b = _expand(inverse, u_left[near], u_right[near])
        left, right = np.concatenate([left, a]), np.concatenate([right, b])
    return left, right


def group_rows(matrix: np.ndarray, max_distance: int) -> list[list[int]]:
    """Connected groups (two or more rows each) of rows within max_distance bits."""
    if len(matrix) < 2:
        return []
    return components(len(matrix), *close_pairs(matrix, max_distance))


def components(n: int, left: np.ndarray, right: np.ndarray) -> list[list[int]]:
    """Connected components with two or more of the n nodes, given edges left[k]-right[k]."""
    if len(left) == 0:
        return []
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.diff(labels[order], prepend=-1))
    return [g.tolist() for g in np.split(order, starts[1:]) if len(g) > 1]


def _chunk_values(matrix: np.ndarray, chunks: int) -> list[np.ndarray]:
    bits = np.unpackbits(matrix, axis=1)
    edges = np.linspace(0, bits.shape[1], chunks + 1).astype(int)
    values = []
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        weights = (1 << np.arange(stop - start, dtype=np.uint64))[::-1]
        values.append(bits[:, start:stop].astype(np.uint64) @ weights)
    return values


def _candidate_pairs(matrix: np.ndarray, chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows that agree exactly on at least one chunk, each pair once."""
    found = []
    for values in _chunk_values(matrix, chunks):
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        for step in range(1, len(order)):
            same = ordered[:-step] == ordered[step:]
            if not same.any():
                break
            found.append(np.stack([order[:-step][same], order[step:][same]]))
    if not found:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    pairs = np.sort(np.concatenate(found, axis=1), axis=0)
    keys = np.unique(pairs[0].astype(np.int64) * len(matrix) + pairs[1])
    return keys // len(matrix), keys % len(matrix)


def _same_row_pairs(inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs linking each row to the first row with the same hash (enough for components)."""
    order = np.argsort(inverse, kind="stable")
    first = np.full(inverse.max() + 1, -1)
    first[inverse[order[::-1]]] = order[::-1]
    others = np.flatnonzero(first[inverse] != np.arange(len(inverse)))
    return first[inverse[others]], others


def _expand(inverse: np.ndarray, u_left: np.ndarray, u_right: np.ndarray):
    """Unique-row pairs as pairs of the first original row of each."""
    first = np.full(inverse.max() + 1, -1)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return first[u_left], first[u_right]
