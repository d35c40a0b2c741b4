"""Rules for the text people type, shared by the services that store it."""
import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogate (JSON allows "\\ud800"; UTF-8 does not)."""
    return "\x00" not in text and not _SURROGATE.search(text)
