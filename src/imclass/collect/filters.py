"""What collect may keep, asked once for every provider: licences (Creative Commons codes and
the groups commercial / modification) and a minimum width. A provider that can filter by one
of them is asked to (its `filters`); otherwise the results are filtered here, on the metadata
the search returned, before anything is downloaded."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imclass.errors import ConfigError, did_you_mean

# Openverse's codes, the vocabulary of --license; "pdm" stands for public-domain marks.
LICENCES = ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd", "cc0", "pdm")
COMMERCIAL = frozenset({"by", "by-sa", "by-nd", "cc0", "pdm"})  # no NonCommercial clause
MODIFICATION = frozenset({"by", "by-sa", "by-nc", "by-nc-sa", "cc0", "pdm"})  # no NoDerivs
GROUPS = {"commercial": COMMERCIAL, "modification": MODIFICATION}


@dataclass(frozen=True)
class SearchFilters:
    """licences: the codes an image may carry (None: any, unknown included); min_width: px."""

    licences: frozenset[str] | None = None
    min_width: int = 0


def parse_licences(text: str | None) -> frozenset[str] | None:
    """'by,by-sa' -> {by, by-sa}; a group narrows the codes: 'commercial' alone -> every code
    without NC, 'by-nc,by,commercial' -> {by}, 'commercial,modification' -> both at once."""
    words = [_code(w) for w in (text or "").split(",") if w.strip()]
    if not words:
        return None
    for word in words:
        if word not in LICENCES and word not in GROUPS:
            raise ConfigError(
                f"The 'license' parameter of collect must be a comma-separated list of "
                f"{', '.join((*LICENCES, *GROUPS))}. Got {word!r} instead."
                f"{did_you_mean(word, (*LICENCES, *GROUPS))}"
            )
    codes = frozenset(w for w in words if w in LICENCES) or frozenset(LICENCES)
    for group in (GROUPS[w] for w in words if w in GROUPS):
        codes &= group
    if not codes:
        raise ConfigError(f"--license {text}: no licence is all of these; drop one of them")
    return codes


def _code(word: str) -> str:
    """' CC-BY-SA ' -> 'by-sa': the code as Openverse writes it."""
    word = word.strip().lower()
    return word[3:] if word.startswith(("cc-", "cc ")) else word


def licence_code(name: str) -> str:
    """A licence as written ("CC BY-SA 4.0", "CC0 1.0", "Public Domain Mark 1.0", "Public
    domain") -> its code ("by-sa", "cc0", "pdm"); "" for anything else (GFDL, unknown)."""
    text = name.strip().lower()
    if text.startswith("cc0"):
        return "cc0"
    if text.startswith(("public domain", "pdm", "pd-")):
        return "pdm"
    match = re.match(r"cc[ -](by(?:-nc)?(?:-nd|-sa)?)\b(?!-(?:nc|nd|sa))", text)
    return match.group(1) if match else ""
