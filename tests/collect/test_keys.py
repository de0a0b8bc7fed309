"""Keys: the environment variable first, then the keys file ($IMCLASS_KEYS or
~/.config/imclass/keys.toml); a broken file is named, its content never quoted."""

import pytest

from imclass.collect.keys import find_key, keys_file
from imclass.collect.providers import create_provider
from imclass.errors import ConfigError


def test_the_keys_file_holds_one_table_per_provider(no_keys, monkeypatch):
    no_keys.write_text('[openverse]\nkey = "from-file"\n\n[flickr]\nkey = " spaced "\n')
    assert keys_file() == no_keys
    assert find_key("openverse", "OPENVERSE_TOKEN") == "from-file"
    assert create_provider("openverse").headers()["Authorization"] == "Bearer from-file"
    assert find_key("flickr", "FLICKR_API_KEY") == "spaced"
    assert find_key("bing", "BING_SEARCH_KEY") is None
    monkeypatch.setenv("OPENVERSE_TOKEN", "from-env")
    assert find_key("openverse", "OPENVERSE_TOKEN") == "from-env"  # the environment wins
    assert create_provider("openverse").key() == "from-env"


def test_the_default_keys_file_is_under_the_home_config(monkeypatch, tmp_path):
    monkeypatch.delenv("IMCLASS_KEYS")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".config" / "imclass").mkdir(parents=True)
    (tmp_path / ".config" / "imclass" / "keys.toml").write_text('[bing]\nkey = "home"\n')
    assert keys_file() == tmp_path / ".config" / "imclass" / "keys.toml"
    assert find_key("bing", "BING_SEARCH_KEY") == "home"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[brave]\nkey = "secret-1', "not valid TOML"),
        ("[brave]\nkey = 12345\n", 'must hold key = "..." \\(a string\\)'),
        ('brave = "secret-2"\n', 'must hold key = "..." \\(a string\\)'),
    ],
)
def test_a_broken_keys_file_is_named_without_its_content(no_keys, text, reason):
    no_keys.write_text(text)
    with pytest.raises(ConfigError, match=reason) as refused:
        find_key("brave", "BRAVE_API_KEY")
    assert str(no_keys) in str(refused.value) and "secret" not in str(refused.value)
