"""Where a search API's key comes from: its environment variable, else the keys file, never a
command-line option (it would land in shell history and process lists). The keys file is TOML,
one table per provider:

    # ~/.config/imclass/keys.toml (or the file $IMCLASS_KEYS names); chmod 600
    [brave]
    key = "BSA..."
    [flickr]
    key = "0123abcd..."

No message, manifest row or exception carries a key: errors name the variable and the file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from imclass.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib

KEYS_ENV = "IMCLASS_KEYS"  # names another keys file than the default
DEFAULT_KEYS_FILE = "~/.config/imclass/keys.toml"


def keys_file() -> Path:
    """The keys file: $IMCLASS_KEYS when set, else ~/.config/imclass/keys.toml."""
    return Path(os.environ.get(KEYS_ENV) or DEFAULT_KEYS_FILE).expanduser()


def find_key(provider: str, env: str) -> str | None:
    """provider's key from the environment variable env, else from the keys file's
    [provider] table; None when neither has one."""
    from_env = os.environ.get(env, "").strip() if env else ""
    return from_env or read_keys(keys_file()).get(provider)


def read_keys(path: Path) -> dict[str, str]:
    """{provider: key} from a keys file; {} when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the keys file ({error.strerror})") from None
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    return {name: _key_of(path, name, table) for name, table in tables.items()}


def _key_of(path: Path, name: str, table) -> str:
    if not isinstance(table, dict) or not isinstance(table.get("key"), str):
        raise ConfigError(
            f'{path}: [{name}] must hold key = "..." (a string); '
            f"see the collect section of the README"
        )
    return table["key"].strip()


def exposed_keys_file(path: Path | None = None) -> str | None:
    """A warning when the keys file can be read by other users (as ssh warns of a private key
    left readable), else None; nothing on a system without POSIX modes."""
    path = path or keys_file()
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if os.name != "posix" or not mode & 0o077:
        return None
    return f"{path} holds API keys and other users can read it (mode {mode:o}): chmod 600 {path}"


def missing_key(provider: str, env: str, sign_up: str) -> ConfigError:
    """The one line for a provider that needs a key and has none."""
    where = keys_file()
    state = "" if where.exists() else ", which does not exist"
    return ConfigError(
        f'{provider} needs a key: set {env}, or write [{provider}] key = "..." in {where}'
        f"{state} (another file: ${KEYS_ENV}); {sign_up}"
    )
