"""The manage page: the fan's private link to their registration — confirmation, ticket, waiting-list
position, accepting an offered seat and cancelling."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from meetups.extensions import db
from meetups.registration.models import Registration
from meetups.registration.services import cancel_registration, register, sweep_all
from meetups.shared.timeutil import utcnow

from .conftest import mails_to, page_text, post_form, register_fans, subject


def _status(email_address: str) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Registration.status).where(Registration.email == email_address))


def _subjects_to(app, address: str) -> list[str]:
    """Subjects of the messages in the outbox addressed to `address`."""
    return [subject(message) for message in mails_to(app, address)]


def _cancel(client, token: str, confirm: bool = True, follow_redirects: bool = True):
    data = {"confirm": "y"} if confirm else {}
    return post_form(client, f"/manage/{token}/cancel", data, follow_redirects, form_url=f"/manage/{token}")


def test_a_confirmed_fan_sees_the_ticket_the_calendar_and_the_private_link_warning(client, make_meetup):
    meetup = make_meetup(title="Chengdu fan meetup")
    outcome = register(meetup.id, name="Li Lei", email="lilei@example.com", question="Dark mode?")
    response = client.get(f"/manage/{outcome.manage_token}")
    assert response.status_code == 200
    page, html = page_text(response), response.get_data(as_text=True)
    assert "You have a seat" in page and "Chengdu fan meetup" in page and "Dark mode?" in page
    ref = outcome.registration.ticket_ref
    assert f'href="/tickets/{ref}"' in html
    assert f'href="/tickets/{ref}.ics"' in html  # add to calendar
    assert "bookmark this page" in page.lower() or "bookmark it" in page
    assert "it is also in your email" in page
    # The link is the fan's key: it must not leak through Referer headers or shared caches.
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]


def test_a_waitlisted_fan_sees_their_position(client, make_meetup):
    meetup = make_meetup(capacity=30)
    outcomes = register_fans(meetup, 32)
    page = page_text(client.get(f"/manage/{outcomes[-1].manage_token}"))
    assert "You are number 2 on the waiting list" in page
    assert "Show my ticket" not in page


def test_cancelling_frees_the_seat_for_the_first_fan_in_line(app, client, make_meetup):
    meetup = make_meetup(title="Busy meetup", capacity=30)
    outcomes = register_fans(meetup, 32)  # fan30 and fan31 wait
    token = outcomes[0].manage_token

    response = _cancel(client, token)
    page = page_text(response)
    assert "Your registration is cancelled" in page
    assert "Show my ticket" not in page and "Cancel my registration" not in page
    assert "Register again" in page
    assert _status("fan0@example.com") == "cancelled"
    assert _status("fan30@example.com") == "confirmed"
    assert _status("fan31@example.com") == "waitlisted"
    assert "A seat opened up: you are in for Busy meetup" in _subjects_to(app, "fan30@example.com")
    assert not any("opened up" in subject for subject in _subjects_to(app, "fan31@example.com"))
    # The promoted fan's own page now shows the seat; the next in line moved up.
    assert "You have a seat" in page_text(client.get(f"/manage/{outcomes[30].manage_token}"))
    assert "You are number 1 on the waiting list" in page_text(client.get(f"/manage/{outcomes[31].manage_token}"))


def test_cancelling_asks_for_confirmation_first(client, make_meetup):
    meetup = make_meetup()
    outcome = register(meetup.id, name="Li Lei", email="lilei@example.com")
    response = _cancel(client, outcome.manage_token, confirm=False)
    assert response.status_code == 422
    assert "Tick the box to confirm" in page_text(response)
    assert _status("lilei@example.com") == "confirmed"


def test_cancel_and_accept_without_csrf_token_are_refused(client, make_meetup):
    meetup = make_meetup()
    outcome = register(meetup.id, name="Li Lei", email="lilei@example.com")
    for action in ("cancel", "accept"):
        response = client.post(f"/manage/{outcome.manage_token}/{action}", data={"confirm": "y"})
        assert response.status_code == 400
    assert _status("lilei@example.com") == "confirmed"


def test_an_offered_seat_can_be_accepted_from_the_manage_page(app, client, make_meetup):
    meetup = make_meetup(title="Offer meetup", capacity=30, offer_hours=24)
    outcomes = register_fans(meetup, 31)
    cancel_registration(outcomes[0].manage_token)
    token = outcomes[30].manage_token
    assert _status("fan30@example.com") == "offered"

    page = page_text(client.get(f"/manage/{token}"))
    assert "A seat is free for you!" in page and "Accept it before" in page
    response = post_form(client, f"/manage/{token}/accept", {}, follow_redirects=True, form_url=f"/manage/{token}")
    page = page_text(response)
    assert "The seat is yours!" in page and "You have a seat" in page
    assert _status("fan30@example.com") == "confirmed"
    assert "Your seat at Offer meetup" in _subjects_to(app, "fan30@example.com")


def test_a_lapsed_offer_shows_as_lapsed_and_passes_on_at_the_sweep(client, make_meetup):
    meetup = make_meetup(capacity=30, offer_hours=24)
    outcomes = register_fans(meetup, 32)
    cancel_registration(outcomes[0].manage_token)
    offered = db.session.scalar(select(Registration).where(Registration.email == "fan30@example.com"))
    offered.offer_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    page = page_text(client.get(f"/manage/{outcomes[30].manage_token}"))
    assert "The seat offer lapsed" in page
    assert "Accept the seat" not in page
    assert _status("fan31@example.com") == "waitlisted"  # reading the page changed nothing
    assert sweep_all() == 1  # the sweep (cron) passes the seat on
    assert _status("fan31@example.com") == "offered"
    # Accepting from a page left open is refused with a message, not an error page.
    response = post_form(client, f"/manage/{outcomes[30].manage_token}/accept", {}, follow_redirects=True,
                         form_url=f"/manage/{outcomes[31].manage_token}")
    assert "This seat offer is no longer open." in page_text(response)
    assert _status("fan30@example.com") == "cancelled"


def test_a_cancelled_meetup_says_so_and_offers_no_cancel_button(client, make_meetup):
    from meetups.registration.services import cancel_meetup

    meetup = make_meetup()
    outcome = register(meetup.id, name="Li Lei", email="lilei@example.com")
    cancel_meetup(meetup.id)
    page = page_text(client.get(f"/manage/{outcome.manage_token}"))
    assert "This meetup has been cancelled" in page
    assert "Cancel my registration" not in page and "Show my ticket" not in page


@pytest.mark.parametrize("token", ["nonsense", "1-abc", "999999-AAAAAAAAAAAAAAAAAAAAAAAA", "1-", "-"])
def test_a_bad_manage_link_is_not_found(client, make_meetup, token):
    meetup = make_meetup()
    register(meetup.id, name="Li Lei", email="lilei@example.com")
    assert client.get(f"/manage/{token}").status_code == 404
    response = client.post(f"/manage/{token}/cancel", data={})
    assert response.status_code in (400, 404)  # no CSRF token: refused before the link is looked at
    assert _status("lilei@example.com") == "confirmed"


def test_a_tampered_token_opens_nothing_and_cancels_nothing(client, make_meetup):
    meetup = make_meetup()
    outcome = register(meetup.id, name="Li Lei", email="lilei@example.com")
    number, _dash, signature = outcome.manage_token.partition("-")
    tampered = f"{number}-{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert client.get(f"/manage/{tampered}").status_code == 404
    for action in ("cancel", "accept"):
        response = post_form(client, f"/manage/{tampered}/{action}", {"confirm": "y"}, form_url=f"/meetups/{meetup.id}")
        assert response.status_code == 404
    assert _status("lilei@example.com") == "confirmed"
