"""The meetup cards of the home page and /meetups, each rendered once per what it shows.

A promo post sends thousands of fans to these pages at once, and rendering ~35 cards (dates in
the reader's language, seat counts, links) cost ~8 ms of CPU a view while the cards themselves
hardly change: a card is a function of the meetup's shown fields, its seat counts, its
registration state, the reader's distance and language. So each card's HTML is kept under
exactly those (`_key`) in a bounded per-process cache, and a view renders only the cards whose
inputs changed since (a registration changes one card's counts, and the next view renders that
one card again).
"""
from collections.abc import Sequence
from datetime import datetime

from flask import current_app
from flask_babel import get_locale
from markupsafe import Markup

from ..events.models import Meetup
from .seats import SeatCounts

CARD_TEMPLATE = "registration/_card.html"
MAX_CARDS = 4096  # cached cards per process (a few KB each); emptied when full
_cards: dict[tuple, Markup] = {}


def meetup_card_items(meetups: Sequence[Meetup], counts: dict[int, SeatCounts], distances: dict[int, float],
                      now: datetime) -> Markup:
    """The <li> of every meetup, in order."""
    locale = str(get_locale() or "en")
    template = None
    items = []
    for meetup in meetups:
        count, state, distance = counts[meetup.id], meetup.registration_state(now), distances.get(meetup.id)
        key = _key(meetup, count, state, distance, locale)
        card = _cards.get(key)
        if card is None:
            template = template or current_app.jinja_env.get_template(CARD_TEMPLATE)
            card = Markup(template.render(meetup=meetup, count=count, state=state, distance=distance,
                                          current_locale=locale))
            if len(_cards) >= MAX_CARDS:
                _cards.clear()
            _cards[key] = card
        items.append(card)
    return Markup("").join(items)


def _key(meetup: Meetup, count: SeatCounts, state: str, distance: float | None, locale: str) -> tuple:
    """Everything the card shows (_card.html), and nothing else."""
    city = meetup.city
    return (meetup.id, meetup.title, meetup.venue_name, meetup.starts_at, meetup.capacity,
            meetup.registration_opens_at, city.geonameid, city.name, city.name_zh, city.timezone,
            state, count.seats_left, count.waitlisted,
            None if distance is None else (distance < 1, round(distance)), locale)
