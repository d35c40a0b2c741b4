"""Finding feedback items by what a note or a fan's search says, in Chinese and in English.

Chinese is written without spaces, so a Chinese run is matched by its overlapping character
pairs ("电池续航" → 电池, 池续, 续航): "续航太短" then finds an item titled "电池续航". English words
are matched by their stem ("batteries" and "battery" share "batter"). An item's score is the share
of the query's terms it contains, a term in the title counting twice as much as one only in the
description.
"""
import re

from sqlalchemy import Select, func, or_

from .models import FeedbackItem

_RUNS = re.compile(r"[0-9a-z]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from has have how i if in is it its me my no not of on "
    "or please should so that the there this to too was we what when where which who why will with would you "
    "your".split()
)
_SUFFIXES = ("ing", "ies", "es", "ed", "s")
MAX_TERMS = 12
MATCH_SHARE = 0.5  # a search lists items holding at least this share of the terms


def terms(text: str) -> list[str]:
    """The query's terms, in order, each once."""
    found: list[str] = []
    for run in _RUNS.findall((text or "").lower()):
        if run.isascii():
            if len(run) < 2 or run in _STOPWORDS:
                continue
            found.append(_stem(run))
        elif len(run) == 1:
            found.append(run)
        else:
            found.extend(run[index:index + 2] for index in range(len(run) - 1))
    return list(dict.fromkeys(found))[:MAX_TERMS]


def _stem(word: str) -> str:
    if len(word) >= 5:
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                return word[: -len(suffix)]
    return word


def matching(query: Select, text: str) -> Select:
    """`query` (of FeedbackItem) narrowed to items containing at least one of the terms."""
    found = terms(text)
    if not found:
        return query.where(False)
    title, description = func.lower(FeedbackItem.title), func.lower(FeedbackItem.description)
    return query.where(or_(*(column.contains(term, autoescape=True) for term in found
                             for column in (title, description))))


def score(item: FeedbackItem, query_terms: list[str]) -> float:
    """0 (nothing in common) to 1 (every term in the title)."""
    if not query_terms:
        return 0.0
    title, description = item.title.lower(), (item.description or "").lower()
    points = sum(2 if term in title else 1 if term in description else 0 for term in query_terms)
    return points / (2 * len(query_terms))


def share_found(item: FeedbackItem, query_terms: list[str]) -> float:
    """The share of the terms found anywhere in the item."""
    if not query_terms:
        return 0.0
    text = f"{item.title}\n{item.description or ''}".lower()
    return sum(1 for term in query_terms if term in text) / len(query_terms)
