"""The forum promotion post for a meetup, in Markdown and in BBCode (Discuz and most forums),
written in the planner's current language, and the QR code of its registration link."""
import io
from dataclasses import dataclass
from datetime import datetime

import qrcode
from babel.dates import format_date, format_time
from flask_babel import get_locale
from flask_babel import gettext as _

from ..events.models import Meetup
from ..registration.seats import SeatCounts
from ..shared.timeutil import to_local


@dataclass
class ForumPost:
    title: str
    markdown: str
    bbcode: str


def forum_post(meetup: Meetup, seats: SeatCounts, link: str) -> ForumPost:
    """One text, two markups: the facts are gathered once and rendered twice."""
    locale = str(get_locale() or "en")
    zone = meetup.city.timezone
    city = meetup.city.display_name(locale)
    starts = meetup.local_starts_at
    when = _("%(date)s, %(time)s", date=format_date(starts, "full", locale=locale),
             time=format_time(starts, "short", locale=locale))
    if meetup.ends_at:
        ends = meetup.local_ends_at
        end = format_time(ends, "short", locale=locale) if ends.date() == starts.date() else _moment(ends, locale)
        when = _("%(start)s to %(end)s", start=when, end=end)
    venue = " · ".join(part for part in (meetup.venue_name, meetup.venue_address) if part) or _("to be announced")
    if seats.seats_left:
        seat_text = _("%(capacity)d seats, %(left)d left", capacity=meetup.capacity, left=seats.seats_left)
    else:
        seat_text = _("%(capacity)d seats, all taken: register to join the waiting list",
                      capacity=meetup.capacity)
    closes = to_local(meetup.registration_closes_at or meetup.starts_at, zone)
    title = _("%(city)s meetup: %(title)s, %(date)s", city=city, title=meetup.title,
              date=format_date(starts, "medium", locale=locale))

    facts = [
        ("📅", _("Date and time (%(city)s time)", city=city), when),
        ("📍", _("Venue"), venue),
        ("🏙️", _("City"), city),
        ("🎟️", _("Seats"), seat_text),
    ]
    expect = [
        _("Meet the engineers who build the product, face to face, and tell them what you think."),
        _("Questions and answers: ask anything. Put your question in the registration form and the engineers "
          "will bring answers."),
        _("Nothing is sold. We are here to play and talk, never to sell."),
        _("Your questions and ideas go into the feedback pool, where fans vote and the most pressing rise to the top."),
    ]
    howto = [
        _("Open the registration link below (or scan the QR code)."),
        _("Give your name and email, and optionally your phone and a question for the engineers."),
        _("With a seat you get a QR ticket by email: show it at the door."),
        _("When the seats are gone you join the waiting list; we email you as soon as a seat frees up."),
        _("Registration closes on %(when)s.", when=_moment(closes, locale)),
    ]
    sections = [
        (_("What to expect"), expect),
        (_("How to register"), howto),
    ]
    intro = _("Fans of %(city)s, we are coming to you! %(capacity)d fans, a room of engineers and an evening "
              "of talk.", city=city, capacity=meetup.capacity)
    link_label = _("Register here")
    return ForumPost(
        title=title,
        markdown=_markdown(title, intro, facts, sections, link_label, link),
        bbcode=_bbcode(title, intro, facts, sections, link_label, link),
    )


def link_qr_png(link: str) -> bytes:
    """The registration link as a QR code, for the planner to upload with the post."""
    image = qrcode.make(link, border=4, box_size=10, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _moment(local: datetime, locale: str) -> str:
    """A date and a time without seconds: `Dec 5, 2030, 7:00 PM`, `2030年12月5日 19:00`."""
    return _("%(date)s, %(time)s", date=format_date(local, "medium", locale=locale),
             time=format_time(local, "short", locale=locale))


def _markdown(title, intro, facts, sections, link_label, link) -> str:
    lines = [f"# {_md(title)}", "", _md(intro), ""]
    lines += [f"- {icon} **{_md(label)}:** {_md(value)}" for icon, label, value in facts]
    for heading, items in sections:
        lines += ["", f"## {_md(heading)}", ""]
        lines += [f"- {_md(item)}" for item in items]
    lines += ["", f"👉 **[{_md(link_label)}]({link})**", "", f"<{link}>", ""]
    return "\n".join(lines)


def _bbcode(title, intro, facts, sections, link_label, link) -> str:
    lines = [f"[size=5][b]{_bb(title)}[/b][/size]", "", _bb(intro), ""]
    lines += [f"{icon} [b]{_bb(label)}:[/b] {_bb(value)}" for icon, label, value in facts]
    for heading, items in sections:
        lines += ["", f"[b]{_bb(heading)}[/b]", "[list]"]
        lines += [f"[*]{_bb(item)}" for item in items]
        lines.append("[/list]")
    lines += ["", f"👉 [b][url={link}]{_bb(link_label)}[/url][/b]", f"[url]{link}[/url]", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Planner-typed text must not turn into Markdown markup by accident."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


def _bb(text: str) -> str:
    # BBCode has no escape; square brackets in a title or address become look-alike brackets.
    return text.replace("[", "［").replace("]", "］")
