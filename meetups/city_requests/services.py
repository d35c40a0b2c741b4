"""Fans asking for a meetup in their city: asking (the email carries a private link), confirming
and withdrawing from that link, and the confirmed counts the planners' ranking shows."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..cities.services import MAX_TYPED_CITY, find_city
from ..extensions import db
from ..shared.links import external_url
from ..shared.mail import Mail, compose, send
from ..shared.private_links import link_token, new_salt, row_for_link
from ..shared.timeutil import utcnow
from ..shared.validation import Fields
from .models import CityRequest

LINK_PURPOSE = "city_request"  # see private_links: a registration's token opens no request

# What asking did (the JSON API's `status`).
CONFIRMATION_SENT = "confirmation_sent"
RECENTLY_SENT = "recently_sent"  # the link went out less than RESEND_AFTER ago: nothing sent now
ALREADY_CONFIRMED = "already_confirmed"
RESEND_AFTER = timedelta(minutes=10)


@dataclass
class AskOutcome:
    city_request: CityRequest
    status: str  # CONFIRMATION_SENT, RECENTLY_SENT or ALREADY_CONFIRMED


def ask_for_city(*, city: str, email: str, name: str = "", locale: str = "en",
                 now: datetime | None = None) -> AskOutcome:
    """A fan asks for a meetup in `city`; one request per email per city. A new, unconfirmed or
    withdrawn request is (re)sent its link and counts once the fan confirms it there; a confirmed
    one is left as it is."""
    values = _validated(city, email, name)
    now = now or utcnow()
    city_request = _request_row(values, locale, now)
    if city_request.counts:
        db.session.commit()
        return AskOutcome(city_request, ALREADY_CONFIRMED)
    if city_request.last_sent_at is not None and now - city_request.last_sent_at < RESEND_AFTER:
        db.session.commit()
        return AskOutcome(city_request, RECENTLY_SENT)
    city_request.name = values["name"] or city_request.name
    city_request.locale = locale
    # Asked again after withdrawing: the link must prove the address again before it counts.
    city_request.confirmed_at = city_request.withdrawn_at = None
    city_request.last_sent_at = now
    db.session.commit()
    send([_confirmation_mail(city_request)])
    return AskOutcome(city_request, CONFIRMATION_SENT)


def request_token(city_request: CityRequest) -> str:
    """The secret of the request's private link (/cities/requests/<token>)."""
    return link_token(LINK_PURPOSE, city_request.id, city_request.confirm_salt)


def request_for_token(token: str) -> CityRequest:
    return row_for_link(CityRequest, token, LINK_PURPOSE, lambda row: row.confirm_salt)


def confirm_request(token: str, now: datetime | None = None) -> CityRequest:
    """The fan pressed the button behind their link: the request counts. Confirming again changes
    nothing; a withdrawn request counts again."""
    city_request = request_for_token(token)
    city_request.confirmed_at = city_request.confirmed_at or now or utcnow()
    city_request.withdrawn_at = None
    db.session.commit()
    return city_request


def withdraw_request(token: str, now: datetime | None = None) -> CityRequest:
    """The request no longer counts (the link can count it again). Withdrawing again changes nothing."""
    city_request = request_for_token(token)
    city_request.withdrawn_at = city_request.withdrawn_at or now or utcnow()
    db.session.commit()
    return city_request


def confirmed_requests_by_city() -> dict[int, int]:
    """geonameid → how many fans asked for a meetup there, confirmed and not withdrawn.
    Cities nobody asked for are absent."""
    rows = db.session.execute(
        select(CityRequest.city_geonameid, func.count())
        .where(CityRequest.confirmed_at.is_not(None), CityRequest.withdrawn_at.is_(None))
        .group_by(CityRequest.city_geonameid)
    )
    return dict(rows.all())


def _request_row(values: dict, locale: str, now: datetime) -> CityRequest:
    """The fan's request for the city, added now when there is none yet."""
    found = _existing(values)
    if found is not None:
        return found
    city_request = CityRequest(**values, locale=locale, created_at=now, confirm_salt=new_salt())
    db.session.add(city_request)
    try:
        db.session.flush()
    except IntegrityError:  # the same fan asked twice at once, and the other ask added the row
        db.session.rollback()
        found = _existing(values)
        if found is None:
            raise
        return found
    return city_request


def _existing(values: dict) -> CityRequest | None:
    return db.session.scalar(select(CityRequest).where(
        CityRequest.city_geonameid == values["city_geonameid"], CityRequest.email == values["email"]))


def _confirmation_mail(city_request: CityRequest) -> Mail:
    return compose(
        city_request.email, "city_request_confirm", city_request.locale,
        city_request=city_request, city=city_request.city,
        link_url=external_url("city_requests.request_page", token=request_token(city_request)),
    )


def _validated(city: str, email: str, name: str) -> dict:
    fields = Fields()
    city = fields.text("city", city, most=MAX_TYPED_CITY, required=_("Please tell us your city."))
    email = fields.email("email", email,
                         required=_("Please give your email: we send a link there to confirm your request."))
    name = fields.text("name", name, CityRequest.name)
    geonameid = None
    if city and "city" not in fields:
        geonameid = find_city(city).geonameid
        if geonameid is None:
            fields.refuse("city", _("We do not know a city called %(name)s. Try its English or Chinese name.",
                                    name=city))
    fields.done()
    return {"city_geonameid": geonameid, "email": email, "name": name}
