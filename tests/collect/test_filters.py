"""--license: codes and groups resolved to one set of codes; licence names read back as codes."""

import pytest

from imclass.collect.filters import licence_code, parse_licences
from imclass.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("by,by-sa", {"by", "by-sa"}),
        ("commercial", {"by", "by-sa", "by-nd", "cc0", "pdm"}),
        ("modification", {"by", "by-sa", "by-nc", "by-nc-sa", "cc0", "pdm"}),
        ("commercial, modification", {"by", "by-sa", "cc0", "pdm"}),
        ("by-nc,BY,commercial", {"by"}),
        ("CC-BY-SA, cc0", {"by-sa", "cc0"}),
    ],
)
def test_licence_codes_and_groups(text, codes):
    assert parse_licences(text) == codes


def test_no_licence_filter_and_refused_ones():
    assert parse_licences(None) is None and parse_licences(" , ") is None
    with pytest.raises(ConfigError, match="Got 'comercial' instead. Did you mean 'commercial'?"):
        parse_licences("by,comercial")
    with pytest.raises(ConfigError, match="no licence is all of these"):
        parse_licences("by-nc,commercial")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("CC BY-SA 4.0", "by-sa"),
        ("CC BY-NC-SA 2.0", "by-nc-sa"),
        ("CC-BY-SA-3.0", "by-sa"),
        ("CC BY 2.0", "by"),
        ("CC0 1.0", "cc0"),
        ("CC0", "cc0"),
        ("Public Domain Mark 1.0", "pdm"),
        ("Public domain", "pdm"),
        ("GFDL", ""),
        ("All Rights Reserved", ""),
        ("", ""),
    ],
)
def test_licence_names_read_as_codes(name, code):
    assert licence_code(name) == code
