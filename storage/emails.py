"""One person, one email: the form an address is stored, compared and signed in with.

:func:`normalise_email` makes addresses that are the same to a reader the same string: Unicode
compatibility forms folded (NFKC: a fullwidth "a" (U+FF41) is "a"), case folded (more than lower():
"ß" is "ss"), the domain in its ASCII (IDNA) form. Addresses that would only *look* like
another are refused: invisible and control characters (a zero-width space), a trailing dot,
and letters of two scripts in one part (a Cyrillic "a", U+0430, among Latin ones).
Addresses stored before this rule are checked by :func:`look_alikes`: the migration that
brought it reports them, and so does `trust-lesson check-emails`.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable

import idna

# Categories never seen in a real address: controls, format characters (zero-width space and
# joiners, direction marks, the BOM), separators, private use, unassigned.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
# Letters of other scripts that are drawn like Latin letters, for :func:`skeleton` (the common
# ones from Unicode's confusables list, https://www.unicode.org/Public/security/latest/).
_LOOKS_LATIN = str.maketrans(
    {
        # Cyrillic
        "\u0430": "a",
        "\u0435": "e",
        "\u043e": "o",
        "\u0440": "p",
        "\u0441": "c",
        "\u0443": "y",
        "\u0445": "x",
        "\u0456": "i",
        "\u0458": "j",
        "\u0455": "s",
        "\u0501": "d",
        "\u04bb": "h",
        "\u051b": "q",
        "\u051d": "w",
        "\u04cf": "l",
        # Greek
        "\u03bf": "o",
        "\u03b1": "a",
        "\u03b9": "i",
        "\u03ba": "k",
        "\u03bd": "v",
        "\u03c1": "p",
        "\u03c4": "t",
        "\u03c5": "u",
        "\u03c7": "x",
        "\u03f2": "c",
    }
)


def _script(char: str) -> str | None:
    """The script of a letter, as the first word of its Unicode name (LATIN, CYRILLIC...)."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else None


def _check_characters(part: str, what: str) -> None:
    for char in part:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise ValueError(
                f"the {what} holds an invisible or control character (U+{ord(char):04X})"
            )
    scripts = {s for s in map(_script, part) if s}
    if len(scripts) > 1:
        raise ValueError(
            f"the {what} mixes letters of the {' and '.join(sorted(scripts))} scripts "
            "(it could pass for another address)"
        )


def normalise_email(value: str) -> str:
    """The stored form of an email address; ValueError says why it is refused."""
    value = value.strip(" \t\r\n")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    local, at, domain = folded.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("not an email address (local@domain)")
    _check_characters(local, "part before @")
    if domain.endswith("."):
        raise ValueError("the domain must not end with a dot")
    for label in domain.split("."):
        _check_characters(label, "domain")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"the domain is not a valid domain name: {exc}") from None
    if "." not in ascii_domain:
        raise ValueError("the domain needs a dot (school.example)")
    return f"{local}@{ascii_domain}"


def skeleton(value: str) -> str:
    """What an address looks like to a reader: for finding stored look-alikes, not for
    storing. Invisible characters and a trailing dot are dropped, look-alike letters mapped."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    visible = "".join(c for c in folded if unicodedata.category(c) not in _REFUSED_CATEGORIES)
    return visible.translate(_LOOKS_LATIN).rstrip(".")


def look_alikes(emails: Iterable[str]) -> list[list[str]]:
    """Groups of stored addresses that read the same (two or more), and single addresses
    that are not in their normal form, each group sorted."""
    groups: dict[str, list[str]] = defaultdict(list)
    for email in emails:
        groups[skeleton(email)].append(email)
    found = []
    for members in groups.values():
        if len(members) > 1:
            found.append(sorted(members))
            continue
        try:
            if normalise_email(members[0]) == members[0]:
                continue
        except ValueError:
            pass
        found.append(members)
    return sorted(found)
