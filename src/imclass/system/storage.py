"""Where a folder lives: its mount, file system type (local or network) and whether the disk
under it spins, from /proc/mounts and /sys/dev/block (Linux; elsewhere the fields are unknown)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# File systems whose reads cross a network (or a virtual machine's host share, as WSL's 9p):
# each file's first read pays a round trip, so many small images read slowly.
NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
        "gpfs", "beegfs", "davfs", "fuse.sshfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.rclone",
        "fuse.glusterfs", "fuse.cephfs", "fuse.juicefs", "fuse.blobfuse2", "fuse.goofys",
    }
)  # fmt: skip
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Storage:
    """The file system a path is on. rotational: None where there is no block device to ask
    (tmpfs, overlay, network) or no /sys."""

    mount_point: str
    fs_type: str
    source: str
    network: bool
    rotational: bool | None

    def describe(self) -> str:
        """'/ (ext4 on /dev/vda): local, rotational disk' and the like."""
        where = "network" if self.network else "local"
        disk = {True: ", rotational disk", False: ", SSD or other non-rotational disk"}
        return (
            f"{self.mount_point} ({self.fs_type} on {self.source}): {where}"
            f"{disk.get(self.rotational, '')}"
        )


def storage_of(
    path: Path | str,
    mounts: Path = Path("/proc/mounts"),
    sys_block: Path = Path("/sys/dev/block"),
) -> Storage:
    """The storage under path (which must exist)."""
    real = os.path.realpath(path)
    mount_point, fs_type, source = _mount_of(real, mounts)
    return Storage(
        mount_point,
        fs_type,
        source,
        fs_type in NETWORK_FILE_SYSTEMS,
        _rotational(os.stat(real).st_dev, sys_block),
    )


def _mount_of(real: str, mounts: Path) -> tuple[str, str, str]:
    """(mount point, type, source) of the longest mount point holding real; unknowns without
    a mount table."""
    best = ("?", "unknown", "?")
    try:
        lines = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return best
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        source, point, fs_type = (_unescape(f) for f in fields[:3])
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and (best[0] == "?" or len(point) >= len(best[0])):
            best = (point, fs_type, source)  # a later mount over the same point hides earlier
    return best


def _unescape(field: str) -> str:
    """/proc/mounts writes a space in a path as \\040."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m[1], 8)), field)


def _rotational(device: int, sys_block: Path) -> bool | None:
    """The kernel's rotational flag of the block device (a partition asks its disk)."""
    entry = sys_block / f"{os.major(device)}:{os.minor(device)}"
    for folder in (entry, entry / ".."):
        try:
            flag = (folder / "queue" / "rotational").read_text().strip()
        except OSError:
            continue
        return flag == "1"
    return None
