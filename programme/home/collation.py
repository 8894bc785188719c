"""French alphabetical order for short lists (territory names), without ICU.

Python sorts by code point: « Bretagne » before « Béthune », « Évry » after « Z ». A French
reader expects accents and case to matter only between otherwise equal names, as in a
dictionary; for the few hundred names of the programme, folding them is enough.
"""

import unicodedata

# Letters that Unicode does not decompose but that a French dictionary spells out.
LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "’": "'", "ʼ": "'"})


def fold(text: str) -> str:
    """Without accents nor case: « Évry-Corbeil » → « evry-corbeil »."""
    decomposed = unicodedata.normalize("NFKD", text.translate(LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def french_key(text: str) -> tuple[str, str, str]:
    """Letters first, then accents, then case (small letters first, as ICU does): the
    dictionary's order of precedence."""
    return fold(text), text.casefold(), text.swapcase()
