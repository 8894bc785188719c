"""One check for every text a user types: no invisible or control characters.

Refused: every control character (Unicode category Cc) but tab, line feed and carriage
return; every format character (Cf), which includes the bidirectional controls
(U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C) that make a title display reversed, the
zero-width spaces and joiners (U+200B-U+200D, U+2060-U+2064), the soft hyphen (U+00AD)
and the byte-order mark (U+FEFF); and lone surrogates (Cs), which no database can store.

The zero-width joiner (U+200D) and the soft hyphen are refused too: French administrative
text never needs them, and an invisible character in a title or a legal reference makes
the search and the comparison of references silently miss it. Emoji sequences joined by
U+200D have no place in a case file. One rule, with no exception, is easier to explain.
"""

import unicodedata

from django.core.exceptions import ValidationError

ALLOWED_CONTROLS = frozenset("\t\n\r")
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
MESSAGE = "Ce texte contient un caractère invisible ou de contrôle (U+%(code)s) : retirez-le."


def first_invisible(value: str) -> str | None:
    for char in value:
        if char not in ALLOWED_CONTROLS and unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def plain_text_error(value) -> str | None:
    """The French message for ``value``, or None if it may be stored."""
    if not isinstance(value, str):
        return None
    char = first_invisible(value)
    if char is None:
        return None
    return MESSAGE % {"code": f"{ord(char):04X}"}


def validate_plain_text(value) -> None:
    char = first_invisible(value) if isinstance(value, str) else None
    if char is not None:
        raise ValidationError(
            MESSAGE, code="invisible_character", params={"code": f"{ord(char):04X}"}
        )
