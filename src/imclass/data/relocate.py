"""Moving, linking and copying a user's files into another folder, keeping relative paths.

Only ever called because a flag or command asked for it (--quarantine, --action move/clean,
downsize, convert). Each file keeps its path relative to the data root *as listed*, so a class
folder that is a link keeps its class. Every destination is checked before the first file is
touched (a file outside the data set, a file already there, two files for one place, a name too
long, a folder that cannot be written), so a refusal leaves nothing half done.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from imclass.data.dataset import DataSource
from imclass.errors import DataError, OutputError
from imclass.files import atomic_path

NAME_MAX = 255  # bytes in one file name on ext4, XFS, APFS and NTFS, where pathconf cannot say


def destination(path: Path, root: Path, target_root: Path) -> Path:
    """path's place under target_root, mirroring its place under root as listed (links are
    not resolved: root/can -> /ext/can keeps can/); a path outside root is an error."""
    path, root = Path(path), Path(root)
    for a, b in ((path, root), (path.absolute(), root.absolute())):
        if a.is_relative_to(b) and a != b and ".." not in a.relative_to(b).parts:
            return Path(target_root) / a.relative_to(b)
    raise DataError(
        f"{path}: outside the data set {root}; only files inside it are moved or copied"
    )


def plan_destinations(paths, root: Path, target_root: Path) -> dict[Path, Path]:
    """{file: its destination} for every file, all checked before any is written."""
    targets = {Path(p): destination(Path(p), root, target_root) for p in paths}
    check_destinations(targets)
    return targets


def check_destinations(targets: dict[Path, Path]) -> None:
    """Refuse a destination that exists, is wanted by two files, has a name too long, or lies
    in a folder this user cannot create or write."""
    first: dict[Path, Path] = {}
    for source, target in targets.items():
        if target in first:
            raise OutputError(f"{target}: both {first[target]} and {source} would be written there")
        first[target] = source
        if target.exists() or target.is_symlink():
            raise OutputError(f"{target}: already exists; choose an empty destination folder")
    checked: set[Path] = set()
    for target in first:
        if target.parent not in checked:
            _check_folder(target.parent)
            checked.add(target.parent)
        _check_name(target)


def _nearest_existing(folder: Path) -> Path:
    return next(p for p in (folder, *folder.parents) if p.exists() or p.is_symlink())


def _check_folder(folder: Path) -> None:
    """folder exists or can be made, and this user may write in it."""
    existing = _nearest_existing(folder.absolute())
    if not existing.is_dir():
        raise OutputError(f"{folder}: cannot be made; {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: cannot write there (no permission in {existing})")


def _check_name(target: Path) -> None:
    existing = _nearest_existing(target.parent.absolute())
    try:
        limit = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = NAME_MAX
    relative = target.absolute().relative_to(existing).parts
    too_long = [part for part in relative if len(os.fsencode(part)) > limit]
    if too_long:
        raise OutputError(f"{target}: the name {too_long[0]!r} is longer than {limit} bytes")


def move_files(paths, root: Path, target_root: Path) -> list[Path]:
    """Move each file to the same relative path under target_root, after checking every
    destination and that every file can leave its folder; returns the new paths."""
    targets = plan_destinations(paths, root, target_root)
    for source in targets:
        if not os.access(source.parent, os.W_OK | os.X_OK):
            raise OutputError(f"{source}: cannot be moved (no permission in {source.parent})")
    for source, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
    return list(targets.values())


def copy_files(paths, root: Path, target_root: Path) -> dict[str, int]:
    """Hard-link (else copy) each file to the same relative path under target_root, after
    checking every destination; returns how many were linked and copied."""
    ways = {"link": 0, "copy": 0}
    for source, target in plan_destinations(paths, root, target_root).items():
        ways[link_or_copy(source, target)] += 1
    return ways


def link_or_copy(path: Path, target: Path) -> str:
    """Hard-link path at target (same disk), else copy it atomically; returns 'link' or 'copy'."""
    if target.exists() or target.is_symlink():
        raise OutputError(f"{target}: already exists; choose an empty destination folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, target)
        return "link"
    except OSError:
        with atomic_path(target) as temporary:
            shutil.copy2(path, temporary)
        return "copy"


def moved_rows_warning(source: DataSource, moved) -> str | None:
    """After files left a data set read from a label file: the warning that its rows still list
    them. The label file is left as it is (it is an input, never rewritten); reading it again
    needs --skip-missing, which names each missing row, or those rows removed."""
    if not moved or not source.root.is_file():
        return None
    return (
        f"{source.root}: {len(moved)} row(s) still list the moved file(s) and now point to "
        "missing files; the label file is unchanged (read it with --skip-missing, or remove "
        "those rows)"
    )
