"""Files imclass writes: checked before any work (never onto an input, never over an existing
file without --overwrite), then written atomically with the user's umask."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from imclass.errors import ConfigError, OutputError


def check_output(
    out: Path | str,
    inputs: Iterable[Path | str],
    *,
    overwrite: bool = False,
    kind: str = "file",
    writes: Iterable[str] = (),
    hint: str = "pass --overwrite to replace it",
) -> Path:
    """Refuse, before any work, an output that lands on or inside an input, is of the wrong kind
    or cannot be created; or one that is taken: an existing file, a non-empty folder (or, given
    `writes`, a folder already holding one of those names), unless overwrite. A "new folder"
    (a copy of a data set) must be empty even with overwrite: two data sets never mix."""
    out = Path(out)
    for source in inputs:
        if _lands_on(out, Path(source)):
            raise OutputError(
                f"{out}: would write onto or inside the input {source}; choose a path outside it"
            )
    _check_kind(out, kind)
    taken = _taken(out, kind, writes)
    if taken and (kind == "new folder" or not overwrite):
        raise OutputError(f"{out}: {taken}; {hint}")
    _check_writable(out)
    return out


def _lands_on(out: Path, source: Path) -> bool:
    """out is source or inside it, by its written path or with links resolved; or the same file."""
    for a, b in ((os.path.abspath(out), os.path.abspath(source)), (_real(out), _real(source))):
        if a == b or a.startswith(b.rstrip(os.sep) + os.sep):
            return True
    try:
        return os.path.samefile(out, source)
    except OSError:
        return False


def _real(path: Path) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, RuntimeError):  # a symlink loop: the written path is all there is
        return os.path.abspath(path)


def _check_kind(out: Path, kind: str) -> None:
    if kind == "file" and out.is_dir():
        raise OutputError(f"{out}: is a folder; give a file name")
    if kind == "file" and out.exists() and not out.is_file():
        # --overwrite would rename a new file over it: /dev/null itself would become a file.
        raise OutputError(f"{out}: not a regular file (a device, pipe or socket); give a file name")
    if kind != "file" and out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; give a folder")
    for parent in out.absolute().parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"{out}: {parent} is a file, not a folder")
            return


def _taken(out: Path, kind: str, writes: Iterable[str]) -> str:
    """Why out is not free to write ('' when it is)."""
    if kind == "file":
        return "exists" if out.exists() or out.is_symlink() else ""
    if not out.is_dir():
        return ""
    held = [name for name in writes if (out / name).exists()]
    if held:
        return f"holds {', '.join(held)} already"
    return "not empty" if not writes and any(out.iterdir()) else ""


def _check_writable(out: Path) -> None:
    """The folder that receives out (or its nearest existing ancestor) lets this user write."""
    folder = next(p for p in (out.absolute(), *out.absolute().parents) if p.is_dir())
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: cannot write there (no permission in {folder})")


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces target in one rename, with the
    permissions an ordinary open() would give (mkstemp's are 0600 whatever the umask)."""
    target = Path(target)
    # A name may use all 255 bytes a folder entry allows; the temporary one keeps 64 of them.
    stem = os.fsdecode(os.fsencode(target.name)[:64])
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{stem}.", suffix=".tmp")
    except OSError as error:  # named after the target, not the temporary name nobody asked for
        raise OutputError(f"{target}: cannot write there ({error.strerror or error})") from None
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask can only be
    read by setting it, which races with threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)  # the strict mask for the instant it is set
    os.umask(mask)
    return mask


def write_text(target: Path | str, text: str) -> None:
    """UTF-8; a file name that is not UTF-8 is written back as the bytes it has on disk."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8", errors="surrogateescape")


def write_bytes(target: Path | str, data: bytes) -> None:
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def write_json(target: Path | str, value) -> None:
    write_text(target, json.dumps(value, indent=2, sort_keys=False) + "\n")


def read_json(path: Path | str):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_yaml_mapping(path: Path | str, holding: str) -> dict:
    """A YAML file of settings: a mapping (an empty file is an empty one), else one line that
    names the file and what it should hold."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of {holding}, like `lr: 0.0001`")
    return values


def cache_key(path: Path | str) -> bytes:
    """How every cache of imclass's (hashes, decoded images) names a file: its path made
    absolute, as bytes (UTF-8 or not), links not followed, so a link is its own entry. The
    caches pair it with the file's size and modification time, which do follow links."""
    return os.fsencode(os.path.abspath(path))


def cache_entry(folder: Path | str, path: Path | str, variant, suffix: str = ".jpg") -> Path:
    """Where a cache under folder keeps its copy of path in one variant (a size): named by
    cache_key with the file's size and modification time, so an edited file gets a new entry
    and the old one is simply never asked for again. Raises OSError for a file gone."""
    info = os.stat(path)
    key = cache_key(path) + f"|{info.st_size}|{info.st_mtime_ns}|{variant}".encode()
    digest = hashlib.blake2b(key, digest_size=16).hexdigest()
    return Path(folder) / digest[:2] / f"{digest}{suffix}"
