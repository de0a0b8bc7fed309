"""Sharded batch prediction: N processes (or machines) each score one contiguous block of the
same file list, and the blocks are joined again in order.

The list is `expand_paths` of the inputs (files as given, folders sorted by path), so every
process given the same arguments builds the same list; a shard records the list's digest, the
model's identity and its place (index, count, total), and the merge refuses anything that would
not rebuild exactly that list's rows: a shard missing or given twice, another model, another
list, other settings. Contiguous blocks rather than every N-th file: the merge is a
concatenation, and each process reads whole folders (neighbouring files, one directory's
metadata) instead of a stride through all of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imclass.errors import ShardError, invalid_parameter
from imclass.files import write_json

KIND = "imclass predictions shard"
FORMAT_VERSION = 1
FILE_PATTERN = "predictions.shard-*-of-*.json"
_SHARD_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

# A row as predict renders it: (path, [(class, probability), ...], error or "").
Row = tuple[str, list[tuple[str, float]], str]


@dataclass(frozen=True)
class Shard:
    """Shard index of count, counted from 0 as torchrun's RANK is."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise invalid_parameter(
                "shard",
                "predict",
                "I/N with 0 <= I < N (0/3, 1/3, 2/3)",
                f"{self.index}/{self.count}",
            )

    @property
    def file_name(self) -> str:
        return f"predictions.shard-{self.index}-of-{self.count}.json"

    def block(self, total: int) -> range:
        """Its rows of a list of total files: contiguous; block sizes differ by one at most."""
        return range(total * self.index // self.count, total * (self.index + 1) // self.count)


def parse_shard(text: str) -> Shard:
    """'1/3' -> Shard(1, 3)."""
    match = _SHARD_TEXT.match(text)
    if match is None:
        raise invalid_parameter("shard", "predict", "I/N, like 0/3", text)
    return Shard(int(match[1]), int(match[2]))


def shard_from_environment(environ: Mapping[str, str] = os.environ) -> Shard | None:
    """The shard torchrun gives this process (RANK of WORLD_SIZE); None outside torchrun or
    when it runs one process."""
    world = environ.get("WORLD_SIZE", "")
    if not world.isdigit() or int(world) <= 1:
        return None
    rank = environ.get("RANK", "")
    if not rank.isdigit():
        raise invalid_parameter("RANK environment variable", "predict", "a number", rank)
    return Shard(int(rank), int(world))


def list_digest(paths: Sequence[Path | str]) -> str:
    """sha256 of the file list, in order: shards of one list agree on it."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.fsencode(str(path)) + b"\0")
    return digest.hexdigest()


def model_identity(spec_json: dict, weights_sha256: str) -> dict:
    """What makes two shards' scores comparable: the weights and model.json (less the imclass
    version that wrote it)."""
    described = {k: v for k, v in spec_json.items() if k != "imclass_version"}
    text = json.dumps(described, sort_keys=True).encode()
    return {"weights_sha256": weights_sha256, "model_json_sha256": hashlib.sha256(text).hexdigest()}


@dataclass(frozen=True)
class ShardResult:
    """One shard file: where its rows sit in the whole list, and how they were scored."""

    shard: Shard
    total: int  # files in the whole list
    list_sha256: str
    model: dict  # model_identity
    settings: dict  # what else shapes the rows: runtime, top_k, multilabel
    rows: tuple[Row, ...]

    def to_json(self) -> dict:
        return {
            "kind": KIND,
            "format_version": FORMAT_VERSION,
            "shard": self.shard.index,
            "shards": self.shard.count,
            "total": self.total,
            "list_sha256": self.list_sha256,
            "model": self.model,
            "settings": self.settings,
            # probabilities at full precision: the merge renders them as a single run does
            "rows": [{"path": p, "predictions": r, "error": e} for p, r, e in self.rows],
        }


def write_shard(folder: Path | str, result: ShardResult) -> Path:
    """FOLDER/predictions.shard-I-of-N.json, written atomically."""
    target = Path(folder) / result.shard.file_name
    write_json(target, result.to_json())
    return target


def read_shard(path: Path) -> ShardResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("kind") != KIND:
            raise ValueError("no 'kind' of a shard")
        rows = tuple(
            (row["path"], [(c, float(q)) for c, q in row["predictions"]], row["error"])
            for row in data["rows"]
        )
        return ShardResult(
            Shard(int(data["shard"]), int(data["shards"])),
            int(data["total"]),
            data["list_sha256"],
            data["model"],
            data["settings"],
            rows,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ShardError(
            f"{path}: not a shard file `imclass predict --shard` wrote ({error})"
        ) from None


def shard_files(inputs: Iterable[Path]) -> list[Path]:
    """The shard files named, and those inside the folders named."""
    found = []
    for item in inputs:
        if item.is_dir():
            inside = sorted(item.glob(FILE_PATTERN))
            if not inside:
                raise ShardError(f"{item}: no {FILE_PATTERN} files in it")
            found += inside
        elif item.is_file():
            found.append(item)
        else:
            raise ShardError(f"{item}: no such file or folder")
    return found


def merge_shards(paths: Sequence[Path]) -> tuple[list[Row], ShardResult]:
    """Every row of the whole list in order, and the first shard (for its settings); a
    ShardError names the file when shards are missing, repeated or do not belong together."""
    results = [read_shard(path) for path in paths]
    first = results[0]
    by_index: dict[int, Path] = {}
    for path, result in zip(paths, results, strict=True):
        _check_belongs(path, result, paths[0], first)
        if result.shard.index in by_index:
            raise ShardError(
                f"shard {result.shard.index} of {result.shard.count} given twice: "
                f"{by_index[result.shard.index]} and {path}; keep one"
            )
        by_index[result.shard.index] = path
    missing = sorted(set(range(first.shard.count)) - set(by_index))
    if missing:
        raise ShardError(
            f"{len(missing)} of {first.shard.count} shards missing: "
            f"{', '.join(f'{i}/{first.shard.count}' for i in missing)}; score them with "
            "`imclass predict ... --shard I/N` and merge again"
        )
    ordered = sorted(results, key=lambda r: r.shard.index)
    return [row for result in ordered for row in result.rows], first


def _check_belongs(path: Path, result: ShardResult, first_path: Path, first: ShardResult) -> None:
    """result is one of the same N shards of the same list, model and settings as first."""
    if result.shard.count != first.shard.count:
        raise ShardError(
            f"{path} is one of {result.shard.count} shards, {first_path} one of "
            f"{first.shard.count}; merge shards of one split only"
        )
    if result.model != first.model:
        raise ShardError(
            f"{path} was scored by another model than {first_path} (weights sha256 "
            f"{result.model.get('weights_sha256', '?')[:12]} against "
            f"{first.model.get('weights_sha256', '?')[:12]}); score every shard with one model"
        )
    if (result.list_sha256, result.total) != (first.list_sha256, first.total):
        raise ShardError(
            f"{path} split another file list than {first_path} ({result.total} against "
            f"{first.total} files, or other names); give every shard the same inputs"
        )
    if result.settings != first.settings:
        raise ShardError(
            f"{path} was scored with other settings than {first_path} ({result.settings} "
            f"against {first.settings}); give every shard the same options"
        )
    expected = len(result.shard.block(result.total))
    if len(result.rows) != expected:
        raise ShardError(
            f"{path}: holds {len(result.rows)} rows where shard {result.shard.index} of "
            f"{result.shard.count} of {result.total} files has {expected}; score it again"
        )
