"""Storage: the mount a folder is on, local or network, and whether its disk spins."""

import os

from imclass.system.storage import storage_of


def fake_sys_block(root, path, rotational: str):
    """A /sys/dev/block holding path's device, with its queue/rotational flag."""
    device = os.stat(path).st_dev
    queue = root / f"{os.major(device)}:{os.minor(device)}" / "queue"
    queue.mkdir(parents=True)
    (queue / "rotational").write_text(rotational + "\n")
    return root


def test_the_longest_mount_holding_the_folder_names_its_type(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        f"server:/export {tmp_path} nfs4 rw 0 0\n"
        f"/dev/sdb1 {tmp_path}/other xfs rw 0 0\n"
    )
    sys_block = fake_sys_block(tmp_path / "sys", tmp_path, "0")
    found = storage_of(tmp_path, mounts, sys_block)
    assert (found.mount_point, found.fs_type, found.source) == (
        str(tmp_path),
        "nfs4",
        "server:/export",
    )
    assert found.network and found.rotational is False
    assert found.describe().endswith(": network, SSD or other non-rotational disk")


def test_a_path_with_a_space_and_a_spinning_disk(tmp_path):
    folder = tmp_path / "my photos"
    folder.mkdir()
    mounts = tmp_path / "mounts"
    escaped = str(folder).replace(" ", "\\040")
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\n/dev/sdc1 {escaped} fuse.sshfs rw 0 0\n")
    found = storage_of(folder, mounts, fake_sys_block(tmp_path / "sys", folder, "1"))
    assert found.mount_point == str(folder) and found.network and found.rotational is True


def test_the_real_tmp_folder_is_local_and_without_sys_its_disk_is_unknown(tmp_path):
    found = storage_of(tmp_path, sys_block=tmp_path / "no-sys")
    assert not found.network and found.rotational is None
    assert str(tmp_path).startswith(found.mount_point) and found.fs_type != "unknown"
    unknown = storage_of(tmp_path, tmp_path / "no-mounts", tmp_path / "no-sys")
    assert (unknown.mount_point, unknown.fs_type, unknown.network) == ("?", "unknown", False)
