"""Registration services: seats, the waiting list, offers, invite codes and the mails they send."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from meetups.errors import DomainError
from meetups.events.models import Meetup
from meetups.extensions import db
from meetups.registration.models import Registration
from meetups.registration.seats import meetup_seats
from meetups.registration.services import (
    accept_offer,
    attendees,
    cancel_registration,
    create_invite_codes,
    format_code,
    manage_token,
    refresh_meetup,
    register,
    registration_for_token,
    sweep_all,
    waitlist_position,
)
from meetups.shared.ticket_codes import ticket_code, verify
from meetups.shared.timeutil import utcnow

from .conftest import body, mails_to, register_fans


def test_seats_then_waiting_list_in_order(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcomes = register_fans(meetup, 33)
    assert [o.registration.status for o in outcomes] == ["confirmed"] * 30 + ["waitlisted"] * 3
    assert [o.waitlist_position for o in outcomes[30:]] == [1, 2, 3]
    assert all(o.waitlist_position is None for o in outcomes[:30])
    counts = meetup_seats(meetup)
    assert (counts.confirmed, counts.waitlisted, counts.seats_left) == (30, 3, 0)


def test_confirmation_mail_carries_the_ticket_and_a_working_manage_link(app, make_meetup):
    meetup = make_meetup(capacity=30, title="Chengdu evening", venue_name="Fan hall")
    outcome = register(meetup.id, name="Li Lei", email=" Li.Lei@Example.com ", question="When is the next beta?")
    assert outcome.registration.email == "li.lei@example.com"
    [mail] = mails_to(app, "li.lei@example.com")
    assert "Chengdu evening" in mail["Subject"]
    text = body(mail)
    assert f"/tickets/{outcome.registration.ticket_ref}" in text
    assert f"/manage/{outcome.manage_token}" in text
    assert "Fan hall" in text
    assert registration_for_token(outcome.manage_token).id == outcome.registration.id


def test_mails_are_written_in_the_language_the_fan_registered_in(app, make_meetup):
    meetup = make_meetup(capacity=30)
    register(meetup.id, name="王芳", email="wang@example.com", locale="zh")
    [mail] = mails_to(app, "wang@example.com")
    assert "你好" in body(mail) or "座位" in str(mail["Subject"])


def test_one_registration_per_email_per_meetup(app, make_meetup):
    meetup = make_meetup(capacity=30)
    register(meetup.id, name="A", email="same@example.com")
    with pytest.raises(DomainError) as refused:
        register(meetup.id, name="B", email="SAME@example.com")
    assert refused.value.code == "already_registered" and refused.value.status == 409
    other = make_meetup(capacity=30, title="Another")
    assert register(other.id, name="A", email="same@example.com").registration.is_confirmed


def test_the_database_refuses_a_second_registration_for_an_email(app, make_meetup):
    meetup = make_meetup(capacity=30)
    first = register(meetup.id, name="A", email="dup@example.com").registration
    db.session.add(Registration(meetup_id=meetup.id, name="B", email="dup@example.com", status="confirmed",
                                manage_salt="x", ticket_ref="another-ref-123456"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    assert first.id


@pytest.mark.parametrize("fields, bad", [
    ({"name": "", "email": "a@example.com"}, "name"),
    ({"name": "A", "email": "not-an-email"}, "email"),
    ({"name": "A", "email": ""}, "email"),
    ({"name": "A" * 101, "email": "a@example.com"}, "name"),
    ({"name": "A", "email": "a@example.com", "phone": "call me"}, "phone"),
    ({"name": "A", "email": "a@example.com", "question": "?" * 2001}, "question"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, make_meetup, fields, bad):
    meetup = make_meetup(capacity=30)
    with pytest.raises(DomainError) as refused:
        register(meetup.id, **fields)
    assert refused.value.code == "invalid"
    assert set(refused.value.fields) == {bad}
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_city_is_matched_to_the_gazetteer_or_kept_as_typed(app, make_meetup, make_city):
    chengdu = make_city("Chengdu", name_zh="成都")
    meetup = make_meetup(city=chengdu, capacity=30)
    known = register(meetup.id, name="A", email="a@example.com", city="成都市").registration
    unknown = register(meetup.id, name="B", email="b@example.com", city="Smallvillage").registration
    assert known.city_geonameid == chengdu.geonameid
    assert (unknown.city_geonameid, unknown.city_text) == (None, "Smallvillage")


@pytest.mark.parametrize("setup, state", [
    ({"status": "closed"}, "closed"),
    ({"status": "cancelled"}, "cancelled"),
    ({"registration_opens_at": "future"}, "opens"),
    ({"registration_closes_at": "past"}, "ended"),
])
def test_registration_outside_its_window_is_refused(app, make_meetup, setup, state):
    fields = dict(setup)
    if fields.get("registration_opens_at") == "future":
        fields["registration_opens_at"] = utcnow() + timedelta(days=2)
    if fields.get("registration_closes_at") == "past":
        fields["registration_closes_at"] = utcnow() - timedelta(hours=1)
    meetup = make_meetup(capacity=30, **fields)
    with pytest.raises(DomainError) as refused:
        register(meetup.id, name="A", email="a@example.com")
    assert refused.value.code == "registration_closed" and refused.value.status == 409
    expected = {"closed": "closed", "cancelled": "cancelled", "opens": "opens on", "ended": "ended"}[state]
    assert expected in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_a_draft_or_missing_meetup_is_not_found(app, make_meetup):
    draft = make_meetup(capacity=30, status="draft")
    for meetup_id in (draft.id, 9999):
        with pytest.raises(DomainError) as refused:
            register(meetup_id, name="A", email="a@example.com")
        assert refused.value.code == "not_found"


def test_cancelling_promotes_the_first_in_line_once_and_tells_them(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcomes = register_fans(meetup, 32)
    cancelled = cancel_registration(outcomes[5].manage_token)
    assert [r.email for r in cancelled.promoted] == ["fan30@example.com"]
    assert cancelled.registration.status == "cancelled"
    again = cancel_registration(outcomes[5].manage_token)
    assert again.promoted == []  # nothing more happens
    counts = meetup_seats(meetup)
    assert (counts.confirmed, counts.waitlisted) == (30, 1)
    assert waitlist_position(outcomes[31].registration) == 1
    [_confirmation, promotion] = mails_to(app, "fan30@example.com")
    assert "seat" in promotion["Subject"].lower()
    assert f"/tickets/{outcomes[30].registration.ticket_ref}" in body(promotion)
    assert mails_to(app, "fan5@example.com")[-1]["Subject"].startswith("Your registration")


def test_cancelling_revokes_the_ticket(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcome = register(meetup.id, name="A", email="a@example.com")
    old_ref = outcome.registration.ticket_ref
    old_code = ticket_code(old_ref)
    cancel_registration(outcome.manage_token)
    assert verify(old_code) == old_ref  # still a genuine signature…
    assert db.session.scalar(select(Registration).where(Registration.ticket_ref == old_ref)) is None  # …of no one


def test_leaving_the_waiting_list_promotes_nobody(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcomes = register_fans(meetup, 32)
    assert cancel_registration(outcomes[30].manage_token).promoted == []
    assert waitlist_position(outcomes[31].registration) == 1


def test_registering_again_after_cancelling_gets_a_new_ticket_and_link(app, make_meetup):
    meetup = make_meetup(capacity=30)
    first = register(meetup.id, name="A", email="a@example.com")
    old_token, old_ref = first.manage_token, first.registration.ticket_ref
    cancel_registration(old_token)
    second = register(meetup.id, name="A again", email="a@example.com")
    assert second.registration.id == first.registration.id and second.registration.is_confirmed
    assert second.registration.ticket_ref != old_ref
    with pytest.raises(DomainError):
        registration_for_token(old_token)


def test_manage_tokens_cannot_be_guessed_or_altered(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcome = register(meetup.id, name="A", email="a@example.com")
    token = outcome.manage_token
    number, _dash, signature = token.partition("-")
    for forged in (f"{number}-{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}", f"{int(number) + 1}-{signature}",
                   number, "", "abc-def", "99999999999999999999-x"):
        with pytest.raises(DomainError) as refused:
            registration_for_token(forged)
        assert refused.value.code == "not_found"


def test_time_limited_offer_accept(app, make_meetup):
    meetup = make_meetup(capacity=30, offer_hours=24)
    outcomes = register_fans(meetup, 31)
    cancelled = cancel_registration(outcomes[0].manage_token)
    [offered] = cancelled.promoted
    assert offered.status == "offered"
    assert offered.offer_expires_at == pytest.approx(utcnow() + timedelta(hours=24), abs=timedelta(minutes=1))
    assert meetup_seats(meetup).seats_left == 0  # the offer holds the seat
    assert "Accept" in body(mails_to(app, "fan30@example.com")[-1])
    accepted = accept_offer(outcomes[30].manage_token)
    assert accepted.is_confirmed
    assert "ticket" in body(mails_to(app, "fan30@example.com")[-1]).lower()


def test_a_lapsed_offer_passes_to_the_next_fan_on_the_next_access(app, make_meetup):
    meetup = make_meetup(capacity=30, offer_hours=2)
    outcomes = register_fans(meetup, 32)
    cancel_registration(outcomes[0].manage_token)
    later = utcnow() + timedelta(hours=3)
    promoted = refresh_meetup(meetup.id, now=later)
    assert [r.email for r in promoted] == ["fan31@example.com"]
    first = db.session.get(Registration, outcomes[30].registration.id)
    assert (first.status, first.cancel_reason) == ("cancelled", "offer_lapsed")
    with pytest.raises(DomainError) as refused:
        accept_offer(outcomes[30].manage_token, now=later)
    assert refused.value.code == "offer_lapsed"
    assert "lapsed" in mails_to(app, "fan30@example.com")[-1]["Subject"]
    assert refresh_meetup(meetup.id, now=later) == []  # nothing more is due


def test_sweep_command_passes_lapsed_offers_on(app, make_meetup, runner):
    meetup = make_meetup(capacity=30, offer_hours=1)
    outcomes = register_fans(meetup, 32)
    cancel_registration(outcomes[0].manage_token)
    offered = db.session.get(Registration, outcomes[30].registration.id)
    offered.offer_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = runner.invoke(args=["meetups", "sweep"])
    assert result.exit_code == 0, result.output
    assert "promoted 1 fans" in result.output
    assert db.session.get(Registration, outcomes[31].registration.id).status == "offered"
    assert sweep_all() == 0


def test_invite_codes_hold_seats_and_seat_their_holders_when_full(app, make_meetup):
    meetup = make_meetup(capacity=30)
    codes = create_invite_codes(meetup.id, 3, label="Honour developers")
    assert meetup_seats(meetup).seats_left == 27
    public = register_fans(meetup, 28)
    assert [o.registration.status for o in public].count("confirmed") == 27
    holder = register(meetup.id, name="VIP", email="vip@example.com", invite_code=format_code(codes[0].code).lower())
    assert holder.registration.is_confirmed
    assert holder.registration.invite_code.code == codes[0].code
    counts = meetup_seats(meetup)
    assert (counts.confirmed, counts.held, counts.seats_left) == (28, 2, 0)
    with pytest.raises(DomainError) as used:
        register(meetup.id, name="Other", email="other@example.com", invite_code=codes[0].code)
    assert used.value.fields == {"invite_code": "This invite code has already been used."}


def test_invite_code_of_another_meetup_or_made_up_is_refused(app, make_meetup):
    meetup, other = make_meetup(capacity=30), make_meetup(capacity=30, title="Other")
    [foreign] = create_invite_codes(other.id, 1)
    for code in (foreign.code, "ABCDE-FGHJK"):
        with pytest.raises(DomainError) as refused:
            register(meetup.id, name="A", email="a@example.com", invite_code=code)
        assert "invite_code" in refused.value.fields
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_no_more_codes_than_free_seats(app, make_meetup):
    meetup = make_meetup(capacity=30)
    register_fans(meetup, 28)
    with pytest.raises(DomainError) as refused:
        create_invite_codes(meetup.id, 3)
    assert "count" in refused.value.fields
    assert len(create_invite_codes(meetup.id, 2)) == 2


def test_held_seats_go_to_the_waiting_list_at_release_time(app, make_meetup):
    meetup = make_meetup(capacity=30, codes_release_at=utcnow() + timedelta(days=1))
    create_invite_codes(meetup.id, 2)
    outcomes = register_fans(meetup, 30)
    assert [o.registration.status for o in outcomes].count("waitlisted") == 2
    after_release = utcnow() + timedelta(days=2)
    assert meetup_seats(meetup, after_release).held == 0
    promoted = refresh_meetup(meetup.id, now=after_release)
    assert sorted(r.email for r in promoted) == ["fan28@example.com", "fan29@example.com"]


def test_attendee_order(app, make_meetup):
    meetup = make_meetup(capacity=30, offer_hours=5)
    outcomes = register_fans(meetup, 33)
    cancel_registration(outcomes[0].manage_token)
    statuses = [r.status for r in attendees(meetup)]
    assert statuses == ["confirmed"] * 29 + ["offered"] + ["waitlisted"] * 2 + ["cancelled"]


def test_capacity_is_enforced_by_the_database_too(app, make_meetup):
    meetup = make_meetup(capacity=30)
    for capacity in (29, 51):
        meetup.capacity = capacity
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert db.session.get(Meetup, meetup.id).capacity == 30


def test_manage_token_is_stable_for_a_registration(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcome = register(meetup.id, name="A", email="a@example.com")
    assert manage_token(outcome.registration) == outcome.manage_token
