"""Fans ask for a meetup in their city: one request per email per city, counted once confirmed from
the emailed link (a button, not the link itself), withdrawn from the same link; the page, the JSON
API, the counts the ranking shows, and Chinese."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from meetups.city_requests.models import CityRequest
from meetups.city_requests.services import (
    ALREADY_CONFIRMED,
    CONFIRMATION_SENT,
    RECENTLY_SENT,
    RESEND_AFTER,
    ask_for_city,
    confirm_request,
    confirmed_requests_by_city,
    request_for_token,
    request_token,
    withdraw_request,
)
from meetups.errors import DomainError
from meetups.extensions import db
from meetups.shared.private_links import link_token
from meetups.shared.timeutil import utcnow

from .conftest import body, csrf_token, mails_to, page_text, post_form, subject

_LINK = re.compile(r"https?://\S+/cities/requests/(\S+)")


def _requests() -> list[CityRequest]:
    db.session.expire_all()
    return db.session.scalars(select(CityRequest).order_by(CityRequest.id)).all()


def _link_token(app, address: str, which: int = -1) -> str:
    """The token of the link in the (last) email sent to `address`."""
    return _LINK.search(body(mails_to(app, address)[which])).group(1)


@pytest.fixture
def beijing(make_city):
    return make_city("Beijing", lat=39.90, lon=116.40, name_zh="北京")


# --- the service ---------------------------------------------------------------------------------


def test_asking_mails_a_link_and_counts_nothing_until_it_is_confirmed(app, chengdu):
    outcome = ask_for_city(city="成都市", email=" Li.Lei@Example.com ", name="Li Lei")
    assert outcome.status == CONFIRMATION_SENT
    city_request = outcome.city_request
    assert (city_request.city_geonameid, city_request.email, city_request.name) == (
        chengdu.geonameid, "li.lei@example.com", "Li Lei")
    assert city_request.confirmed_at is None
    assert confirmed_requests_by_city() == {}

    [mail] = mails_to(app, "li.lei@example.com")
    assert subject(mail) == "Confirm your request for a meetup in Chengdu"
    assert "Hello Li Lei," in body(mail)
    token = _link_token(app, "li.lei@example.com")
    assert token == request_token(city_request)

    confirm_request(token)
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}


def test_confirming_twice_changes_nothing(app, chengdu):
    token = request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request)
    first = confirm_request(token, now=utcnow() - timedelta(hours=1)).confirmed_at
    assert confirm_request(token).confirmed_at == first
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}


def test_asking_again_before_confirming_resends_the_link_without_a_second_request(app, chengdu):
    first = ask_for_city(city="Chengdu", email="a@example.com", now=utcnow() - RESEND_AFTER)
    again = ask_for_city(city="成都", email="A@example.com", name="Ann", locale="zh")
    assert again.status == CONFIRMATION_SENT
    assert [r.id for r in _requests()] == [first.city_request.id]
    assert (again.city_request.name, again.city_request.locale) == ("Ann", "zh")
    mails = mails_to(app, "a@example.com")
    assert len(mails) == 2
    assert _link_token(app, "a@example.com", 0) == _link_token(app, "a@example.com", 1)  # both links work


def test_asking_again_soon_sends_no_second_email(app, chengdu):
    """Nobody can fill a stranger's inbox by asking for their address over and over."""
    asked_at = utcnow()
    ask_for_city(city="Chengdu", email="victim@example.com", now=asked_at)
    for minutes in (1, 5, 9):
        again = ask_for_city(city="Chengdu", email="victim@example.com", now=asked_at + timedelta(minutes=minutes))
        assert again.status == RECENTLY_SENT
    assert len(mails_to(app, "victim@example.com")) == 1
    later = ask_for_city(city="Chengdu", email="victim@example.com", now=asked_at + RESEND_AFTER)
    assert later.status == CONFIRMATION_SENT
    assert len(mails_to(app, "victim@example.com")) == 2 and len(_requests()) == 1


def test_asking_again_once_confirmed_says_so_and_sends_nothing(app, chengdu):
    confirm_request(request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request))
    again = ask_for_city(city="Chengdu", email="a@example.com", name="Someone else")
    assert again.status == ALREADY_CONFIRMED
    assert len(_requests()) == 1 and again.city_request.name == ""
    assert len(mails_to(app, "a@example.com")) == 1
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}


def test_one_email_may_ask_for_several_cities_and_a_city_counts_every_email(app, chengdu, beijing):
    for email_address, city in (("a@example.com", "Chengdu"), ("a@example.com", "Beijing"),
                                ("b@example.com", "Chengdu")):
        confirm_request(request_token(ask_for_city(city=city, email=email_address).city_request))
    assert confirmed_requests_by_city() == {chengdu.geonameid: 2, beijing.geonameid: 1}


def test_the_database_refuses_a_second_request_for_an_email_and_city(app, chengdu):
    ask_for_city(city="Chengdu", email="dup@example.com")
    db.session.add(CityRequest(city_geonameid=chengdu.geonameid, email="dup@example.com", confirm_salt="x"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert len(_requests()) == 1


def test_a_withdrawn_request_no_longer_counts_and_the_link_can_count_it_again(app, chengdu):
    token = request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request)
    confirm_request(token)
    assert withdraw_request(token).is_withdrawn
    assert withdraw_request(token).is_withdrawn  # twice: no harm
    assert confirmed_requests_by_city() == {}
    assert request_for_token(token).city_geonameid == chengdu.geonameid  # the link still opens it

    confirm_request(token)
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}


def test_asking_again_after_withdrawing_needs_a_new_confirmation(app, chengdu):
    token = request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request)
    confirm_request(token)
    withdraw_request(token)
    again = ask_for_city(city="Chengdu", email="a@example.com", now=utcnow() + RESEND_AFTER)
    assert again.status == CONFIRMATION_SENT
    assert len(_requests()) == 1 and not again.city_request.is_withdrawn
    assert confirmed_requests_by_city() == {}
    assert len(mails_to(app, "a@example.com")) == 2
    confirm_request(token)
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}


def test_an_unconfirmed_request_can_be_withdrawn_by_someone_who_never_asked(app, chengdu):
    token = request_token(ask_for_city(city="Chengdu", email="victim@example.com").city_request)
    withdraw_request(token)
    assert confirmed_requests_by_city() == {}
    assert _requests()[0].is_withdrawn


def test_counts_leave_out_unconfirmed_and_withdrawn_requests_in_one_query(app, chengdu, beijing):
    tokens = [request_token(ask_for_city(city="Chengdu", email=f"fan{n}@example.com").city_request) for n in range(5)]
    for token in tokens[:4]:
        confirm_request(token)
    withdraw_request(tokens[0])
    ask_for_city(city="Beijing", email="fan9@example.com")  # unconfirmed: Beijing is absent
    statements = []

    def record(_connection, _cursor, statement, *_rest):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        counts = confirmed_requests_by_city()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert counts == {chengdu.geonameid: 3}
    assert len(statements) == 1 and "GROUP BY" in statements[0]


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character changed
    lambda token: token.split("-")[0],  # the signature left out
    lambda token: str(int(token.split("-")[0]) + 1) + "-" + token.split("-")[1],  # another request's id
    lambda token: "x" + token,
    lambda token: "99999999999999999999-" + token.split("-")[1],  # beyond any integer column
    lambda token: "",
])
def test_a_bad_token_opens_nothing(app, chengdu, mangle):
    token = request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request)
    ask_for_city(city="Chengdu", email="b@example.com")
    for use in (request_for_token, confirm_request, withdraw_request):
        with pytest.raises(DomainError) as refused:
            use(mangle(token))
        assert (refused.value.code, refused.value.status) == ("not_found", 404)
    assert confirmed_requests_by_city() == {}


def test_a_token_of_another_kind_of_link_opens_no_request(app, chengdu):
    city_request = ask_for_city(city="Chengdu", email="a@example.com").city_request
    with pytest.raises(DomainError):
        request_for_token(link_token("manage", city_request.id, city_request.confirm_salt))


def test_changing_the_secret_key_invalidates_the_links_sent(app, chengdu):
    token = request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request)
    app.config["SECRET_KEY"] = "another-secret-key"
    with pytest.raises(DomainError):
        request_for_token(token)


@pytest.mark.parametrize("fields, bad", [
    ({"city": "Atlantis", "email": "a@example.com"}, "city"),
    ({"city": "", "email": "a@example.com"}, "city"),
    ({"city": "C" * 101, "email": "a@example.com"}, "city"),
    ({"city": "Chengdu", "email": "not-an-email"}, "email"),
    ({"city": "Chengdu", "email": ""}, "email"),
    ({"city": "Chengdu", "email": "a\x00b@example.com"}, "email"),
    ({"city": "Chengdu", "email": "a@example.com", "name": "N" * 101}, "name"),
    ({"city": "Cheng\ud800du", "email": "a@example.com"}, "city"),
])
def test_bad_input_names_the_field_and_writes_and_mails_nothing(app, chengdu, fields, bad):
    with pytest.raises(DomainError) as refused:
        ask_for_city(**fields)
    assert refused.value.code == "invalid"
    assert set(refused.value.fields) == {bad}
    assert _requests() == []
    assert mails_to(app, "a@example.com") == []


def test_an_unknown_city_says_which_name_was_not_found(app, chengdu):
    with pytest.raises(DomainError) as refused:
        ask_for_city(city="Atlantis", email="a@example.com")
    assert "We do not know a city called Atlantis" in refused.value.fields["city"]


def test_any_gazetteer_name_finds_the_city(app, gazetteer):
    ask_for_city(city="成都市", email="a@example.com")
    ask_for_city(city="chengdu city", email="b@example.com")
    ask_for_city(city="xi'an", email="c@example.com")  # the gazetteer writes Xi’an
    names = [r.city.name for r in _requests()]
    assert names == ["Chengdu", "Chengdu", "Xi’an"]


# --- the pages -----------------------------------------------------------------------------------


def _ask(client, data: dict, follow_redirects: bool = True):
    return post_form(client, "/cities/ask", data, follow_redirects)


def test_asking_on_the_page_mails_a_link_whose_button_confirms(app, client, chengdu):
    response = _ask(client, {"city": "成都", "email": "Fan@Example.com", "name": "Fan"}, follow_redirects=False)
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "Check your email" in page
    assert "We sent a link to fan@example.com" in page and "a meetup in Chengdu" in page

    [mail] = mails_to(app, "fan@example.com")
    link = _LINK.search(body(mail)).group(0)
    token = _link_token(app, "fan@example.com")
    # Opening the link (as a mail scanner would) only shows the button.
    opened = client.get(link)
    assert opened.status_code == 200
    assert "Confirm your request" in page_text(opened) and "Yes, count my request" in page_text(opened)
    assert opened.headers["Referrer-Policy"] == "no-referrer" and "no-store" in opened.headers["Cache-Control"]
    assert confirmed_requests_by_city() == {}

    confirmed = post_form(client, f"/cities/requests/{token}/confirm", {}, True, form_url=link)
    page = page_text(confirmed)
    assert "Thank you! Your request for a meetup in Chengdu counts." in page
    assert "Your request counts" in page and "Yes, count my request" not in page
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}
    # Pressing it again (a second tab, the back button) is harmless.
    post_form(client, f"/cities/requests/{token}/confirm", {}, True, form_url=link)
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}


@pytest.mark.parametrize("data, field, message", [
    ({"city": "Atlantis", "email": "a@example.com"}, "city",
     "We do not know a city called Atlantis. Try its English or Chinese name."),
    ({"city": "", "email": "a@example.com"}, "city", "Please tell us your city."),
    ({"city": "Chengdu", "email": "nope"}, "email", "This does not look like an email address."),
])
def test_a_field_error_re_renders_the_form_with_422_and_writes_nothing(app, client, chengdu, data, field, message):
    response = _ask(client, {**data, "name": "Kept"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in page_text(response)
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html) or re.search(
        rf'aria-invalid="true"[^>]*id="{field}"', html)
    assert 'value="Kept"' in html  # what the fan typed is still there
    assert _requests() == [] and mails_to(app, "a@example.com") == []


def test_asking_without_the_csrf_token_is_refused(app, client, chengdu):
    response = client.post("/cities/ask", data={"city": "Chengdu", "email": "a@example.com"})
    assert response.status_code == 400
    assert "This form has expired" in page_text(response)
    assert _requests() == []


def test_confirming_or_withdrawing_without_the_csrf_token_changes_nothing(app, client, chengdu):
    token = request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request)
    page = page_text(client.post(f"/cities/requests/{token}/confirm", follow_redirects=True))
    assert "This form has expired" in page
    assert confirmed_requests_by_city() == {}
    confirm_request(token)
    client.post(f"/cities/requests/{token}/withdraw", follow_redirects=True)
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}  # still counts


def test_withdrawing_on_the_page_and_counting_again(app, client, chengdu):
    token = request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request)
    confirm_request(token)
    url = f"/cities/requests/{token}"
    page = page_text(post_form(client, f"{url}/withdraw", {}, True, form_url=url))
    assert "Your request is withdrawn" in page and "Count my request again" in page
    assert "Withdraw my request" not in page
    assert confirmed_requests_by_city() == {}
    post_form(client, f"{url}/confirm", {}, True, form_url=url)
    assert confirmed_requests_by_city() == {chengdu.geonameid: 1}


@pytest.mark.parametrize("token", ["1-forged", "nonsense", "123456789012-x"])
def test_a_bad_link_is_a_clear_404(client, chengdu, token):
    ask_for_city(city="Chengdu", email="a@example.com")
    response = client.get(f"/cities/requests/{token}")
    assert response.status_code == 404
    assert "This link is not valid (was it copied in full?)." in page_text(response)
    forged = client.post(f"/cities/requests/{token}/confirm", data={"csrf_token": csrf_token(client, "/cities/ask")})
    assert forged.status_code == 404
    assert confirmed_requests_by_city() == {}


def test_asking_again_on_the_page_once_confirmed_says_so_kindly(app, client, chengdu):
    confirm_request(request_token(ask_for_city(city="Chengdu", email="a@example.com").city_request))
    page = page_text(_ask(client, {"city": "chengdu", "email": "a@example.com"}))
    assert "You have already asked for Chengdu" in page
    assert "is confirmed and counts" in page
    assert len(_requests()) == 1 and len(mails_to(app, "a@example.com")) == 1


def test_asking_again_on_the_page_soon_says_the_link_is_on_its_way(app, client, chengdu):
    _ask(client, {"city": "Chengdu", "email": "a@example.com"})
    page = page_text(_ask(client, {"city": "成都", "email": "a@example.com"}))
    assert "a few minutes ago, so we did not send another one" in page
    assert len(mails_to(app, "a@example.com")) == 1


def test_the_check_your_email_page_needs_an_ask_first(client, chengdu):
    response = client.get("/cities/ask/sent")
    assert response.status_code == 302 and response.headers["Location"].endswith("/cities/ask")


def test_the_ask_page_fills_in_the_city_from_the_link_or_the_remembered_city(client, chengdu):
    assert 'value="Beijing"' in client.get("/cities/ask?city=Beijing").get_data(as_text=True)
    assert 'id="city"' in client.get("/cities/ask").get_data(as_text=True)
    client.get("/meetups?city=成都")  # the list page remembers the fan's city
    assert 'value="Chengdu"' in client.get("/cities/ask").get_data(as_text=True)


def test_the_meetup_list_links_to_the_ask_page_with_the_known_city(client, chengdu, make_meetup):
    make_meetup(city=chengdu, title="Chengdu meetup")
    page = client.get("/meetups").get_data(as_text=True)
    assert "No meetup near you?" in page
    assert 'href="/cities/ask">Ask for one in your city</a>' in page
    page = client.get("/meetups?city=成都").get_data(as_text=True)
    assert 'href="/cities/ask?city=Chengdu">Ask for one in your city</a>' in page
    zh = client.get("/meetups?lang=zh").get_data(as_text=True)
    assert "/cities/ask?city=%E6%88%90%E9%83%BD" in zh  # 成都, as the fan reads it


def test_asking_is_rate_limited_per_ip(limited_client, chengdu):
    client = limited_client
    answers = [client.post("/cities/ask", data={"city": "Chengdu", "email": f"a{n}@example.com"}).status_code
               for n in range(4)]
    assert answers == [400, 400, 400, 429]  # refused for want of a CSRF token, but counted
    assert client.get("/cities/ask").status_code == 200  # reading the page is not limited


# --- the JSON API --------------------------------------------------------------------------------


def _api_ask(client, **body):
    return client.post("/api/cities/requests", json=body)


def test_api_asks_resends_and_says_when_already_confirmed(app, client, chengdu):
    answer = _api_ask(client, city="成都", email="api@example.com", name="API fan")
    assert answer.status_code == 202
    assert answer.get_json() == {"status": "confirmation_sent", "city": "Chengdu", "city_zh": "成都"}
    assert _api_ask(client, city="Chengdu", email="api@example.com").get_json()["status"] == "recently_sent"
    assert len(_requests()) == 1 and len(mails_to(app, "api@example.com")) == 1
    _requests()[0].last_sent_at -= RESEND_AFTER  # ten minutes later
    db.session.commit()
    assert _api_ask(client, city="Chengdu", email="api@example.com").get_json()["status"] == "confirmation_sent"
    assert len(mails_to(app, "api@example.com")) == 2

    confirm_request(_link_token(app, "api@example.com"))
    again = _api_ask(client, city="Chengdu", email="api@example.com")
    assert (again.status_code, again.get_json()["status"]) == (202, "already_confirmed")


@pytest.mark.parametrize("body, fields", [
    ({"city": "Atlantis", "email": "a@example.com"}, {"city"}),
    ({"email": "a@example.com"}, {"city"}),
    ({"city": "Chengdu", "email": "nope", "name": "N" * 101}, {"email", "name"}),
    ({"city": 42, "email": "a@example.com"}, {"city"}),
])
def test_api_field_errors_are_422_invalid_and_write_nothing(client, chengdu, body, fields):
    answer = client.post("/api/cities/requests", json=body)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert set(error["fields"]) == fields
    assert _requests() == []


def test_api_refuses_a_body_that_is_not_an_object(client, chengdu):
    answer = client.post("/api/cities/requests", data="city=Chengdu", content_type="text/plain")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "bad_request"


def test_api_is_rate_limited_per_ip(limited_client, chengdu):
    answers = [_api_ask(limited_client, city="Chengdu", email=f"a{n}@example.com") for n in range(4)]
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    assert answers[3].get_json()["error"]["code"] == "rate_limited"


# --- Chinese -------------------------------------------------------------------------------------


def test_the_pages_and_the_email_in_chinese(app, client, chengdu):
    client.get("/lang/zh")
    page = page_text(client.get("/cities/ask"))
    assert "申请在你的城市办同城会" in page and "你所在的城市" in page
    assert "Ask for a meetup" not in page

    refused = _ask(client, {"city": "亚特兰蒂斯", "email": "a@example.com"})
    assert refused.status_code == 422
    assert "找不到叫“亚特兰蒂斯”的城市" in page_text(refused)

    sent = page_text(_ask(client, {"city": "Chengdu", "email": "wang@example.com", "name": "王芳"}))
    assert "请查收邮件" in sent and "我们已把链接发到 wang@example.com" in sent and "在成都办同城会" in sent

    [mail] = mails_to(app, "wang@example.com")
    assert subject(mail) == "请确认：你希望在成都办同城会"
    text = body(mail)
    assert "王芳，你好：" in text and "Hello" not in text
    opened = page_text(client.get(_LINK.search(text).group(0)))
    assert "确认你的申请" in opened and "确认，计入我的申请" in opened


def test_the_api_mails_in_the_language_asked_for(app, client, chengdu):
    _api_ask(client, city="Chengdu", email="en@example.com")
    client.post("/api/cities/requests", json={"city": "Chengdu", "email": "zh@example.com"},
                headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert subject(mails_to(app, "en@example.com")[0]) == "Confirm your request for a meetup in Chengdu"
    assert subject(mails_to(app, "zh@example.com")[0]) == "请确认：你希望在成都办同城会"
