"""Moving, linking and copying a user's files into another folder, keeping relative paths.

Only ever called because a flag asked for it (--quarantine, --action move/clean); never
overwrites: a file already at the destination is an error naming it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from imclass.errors import DataError
from imclass.files import atomic_path


def destination(path: Path, root: Path, target_root: Path) -> Path:
    """path's place under target_root, mirroring its place under root."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        relative = Path(path.name)
    return target_root / relative


def move_files(paths, root: Path, target_root: Path) -> list[Path]:
    """Move each file to the same relative path under target_root; returns the new paths."""
    moved = []
    for path in paths:
        target = _free(destination(path, root, target_root))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))
        moved.append(target)
    return moved


def link_or_copy(path: Path, target: Path) -> str:
    """Hard-link path at target (same disk), else copy it atomically; returns 'link' or 'copy'."""
    target = _free(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, target)
        return "link"
    except OSError:
        with atomic_path(target) as temporary:
            shutil.copy2(path, temporary)
        return "copy"


def _free(target: Path) -> Path:
    if target.exists():
        raise DataError(f"{target}: already exists; choose an empty destination folder")
    return target
