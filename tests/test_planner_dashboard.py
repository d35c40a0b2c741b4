"""The planner dashboard (/planner/cities): who may open it, the ranking table with its reasons and
signals, the map, the unserved fans, bad parameters, a city's history, and the schedule form
(swaps, accepting, a double submit), in English and Chinese."""
import re
from datetime import timedelta

import pytest

from meetups.extensions import db
from meetups.registration.services import register
from meetups.shared.timeutil import utcnow

from .city_world import ORDER, QUERY
from .conftest import csrf_token, meetup_count, page_html, post_form

DASHBOARD = "/planner/cities?" + QUERY
ORDER_KEYS = ["kunming", "chengdu", "lanzhou", "wuhan", "harbin"]  # ORDER's cities


def _table_cities(page: str) -> list[str]:
    """The ranking table's cities, top to bottom."""
    table = page[page.index('class="stack-sm cd-table cd-ranking"'):]
    table = table[: table.index("</table>")]
    return re.findall(r'<td class="cd-city"><a [^>]*><strong>([^<]+)</strong>', table)


def _circle(page: str, geonameid: int) -> dict:
    match = re.search(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)" fill="(#\w+)"\s+class="cd-map-city ([\w-]+)" '
                      rf'data-geonameid="{geonameid}" data-fans="(\d+)">\s*<title>([^<]+)</title>', page)
    assert match, f"no circle for {geonameid}"
    return {"r": float(match[3]), "fill": match[4], "class": match[5], "fans": int(match[6]), "title": match[7]}


def _accept(client, cities: list[int], start, action="accept", **extra):
    data = {"min_population": "100000", "min_fans": "15", "start": start.isoformat(), "count": str(len(cities)),
            "action": action, **{f"city_{n}": str(city) for n, city in enumerate(cities, start=1)}, **extra}
    return post_form(client, "/planner/cities/schedule", data, form_url=DASHBOARD)


# --- who may ---------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_login(client, city_world):
    for url in (DASHBOARD, f"/planner/cities/{city_world['chengdu'].geonameid}"):
        answer = client.get(url)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], url
    token = csrf_token(client, "/login")
    answer = client.post("/planner/cities/schedule", data={"csrf_token": token, "action": "accept",
                                                            "city_1": city_world["chengdu"].geonameid})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert meetup_count() == 0


@pytest.mark.parametrize("role", ["staff", "engineer"])
def test_door_staff_and_engineers_are_refused(client, auth, make_user, city_world, role):
    make_user(role, email=f"{role}@example.com")
    auth.login(f"{role}@example.com")
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(f"/planner/cities/{city_world['chengdu'].geonameid}").status_code == 403
    token = csrf_token(client, "/staff")
    answer = client.post("/planner/cities/schedule", data={"csrf_token": token, "action": "accept",
                                                            "city_1": city_world["chengdu"].geonameid})
    assert answer.status_code == 403 and meetup_count() == 0
    assert "/planner/cities" not in page_html(client.get("/staff"))


def test_admins_may_plan_too(client, auth, make_user, city_world):
    make_user("admin", email="boss@example.com")
    auth.login("boss@example.com")
    assert client.get(DASHBOARD).status_code == 200


def test_staff_home_and_the_meetup_list_link_to_the_dashboard(planner):
    assert 'href="/planner/cities"' in page_html(planner.get("/staff"))
    assert 'href="/planner/cities"' in page_html(planner.get("/planner/meetups"))


# --- the ranking, the map, the unserved fans -------------------------------------------------

def test_the_table_explains_every_row(planner, city_world):
    page = page_html(planner.get(DASHBOARD))
    assert _table_cities(page) == ORDER
    kunming = page[page.index(f'<tr class="cd-row-eligible" data-geonameid="{city_world["kunming"].geonameid}"'):]
    kunming = kunming[: kunming.index("</tr>")]
    for text in ("18", "100,000", "18.0", "✓ Eligible", "—"):
        assert text in kunming
    harbin = page[page.index(f'<tr class="cd-row-not-eligible" data-geonameid="{city_world["harbin"].geonameid}"'):]
    assert "Not eligible" in harbin[: harbin.index("</tr>")] and "2 fans, fewer than 15" in harbin


def test_the_map_draws_a_circle_per_candidate_sized_by_fans(planner, city_world):
    page = page_html(planner.get(DASHBOARD))
    assert "<svg" in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert page.count('class="cd-map-city ') == 5  # Mianyang is too small to be a candidate
    circles = {key: _circle(page, city_world[key].geonameid) for key in ORDER_KEYS}
    # Area in proportion to fans: Chengdu (30) has the largest circle, Lanzhou (24) 0.8 of its area.
    assert circles["chengdu"]["r"] == 30.0
    assert circles["lanzhou"]["r"] ** 2 == pytest.approx(0.8 * 30.0 ** 2, rel=0.01)
    # Eligible and not look different; the densest is the darkest; each has a tooltip and a link.
    assert circles["harbin"]["class"] == "cd-map-not-eligible" and circles["kunming"]["class"] == "cd-map-eligible"
    assert circles["kunming"]["fill"] == "#b30000"
    assert circles["chengdu"]["title"].startswith("Chengdu #2 · 30 fans · 15.0 per 100,000")
    assert f'href="/planner/cities/{city_world["harbin"].geonameid}?' in page
    assert "Fans per 100,000 people" in page  # the legend


def test_a_larger_radius_changes_the_table_the_map_and_the_unserved(planner, city_world):
    before = page_html(planner.get(DASHBOARD))
    assert "10 fans live farther than 100 km from every candidate city." in before
    assert re.search(r"<strong>Mianyang</strong>.*?>10<.*?>Chengdu<.*?>107 km<", before, re.S)

    after = page_html(planner.get(DASHBOARD + "&radius_km=150"))
    assert _table_cities(after) == ["Chengdu", "Kunming", "Lanzhou", "Wuhan", "Harbin"]
    assert _circle(after, city_world["chengdu"].geonameid)["fans"] == 40
    assert "0 fans live farther than 150 km" in after
    assert re.search(r'<input [^>]*id="radius_km"[^>]*value="150">', after)  # the form keeps the value


@pytest.mark.parametrize("query, field, message", [
    ("radius_km=abc", "radius_km", "Give a number from 1 to 3,000."),
    ("radius_km=0", "radius_km", "Give a number from 1 to 3,000."),
    ("min_fans=-5", "min_fans", "Give a number from 0 to 100,000,000."),
    ("by=population", "by", "Order by density or by fans."),
    ("top=1e999", "top", "Give a number from 0 to 100,000."),
])
def test_bad_parameters_are_shown_next_to_their_field(planner, city_world, query, field, message):
    answer = planner.get(f"/planner/cities?{query}")
    assert answer.status_code == 422
    page = page_html(answer)
    assert f'id="{field}-errors"' in page and message in page
    assert "cd-ranking" not in page


@pytest.mark.parametrize("query, field", [("count=13", "count"), ("count=x", "count"), ("start=2001-01-01", "start"),
                                          ("start=soon", "start")])
def test_bad_schedule_values_are_shown_next_to_their_field(planner, city_world, query, field):
    answer = planner.get(f"{DASHBOARD}&{query}")
    assert answer.status_code == 422
    page = page_html(answer)
    assert f'id="{field}-errors"' in page and "cd-ranking" in page  # the ranking is still there


def test_city_names_are_chinese_in_chinese(planner, city_world):
    page = page_html(planner.get(DASHBOARD + "&lang=zh"))
    assert _table_cities(page) == ["昆明", "成都", "兰州", "武汉", "哈尔滨"]
    assert "<title>成都 #2 · " in page
    assert re.search(r"<strong>绵阳</strong>.*?成都", page, re.S)  # the nearest candidate too
    assert "选择下一座城市" in page


# --- a city's history ------------------------------------------------------------------------

def test_a_city_history_lists_its_meetups_with_registrations(planner, city_world, make_meetup):
    past = make_meetup(city=city_world["chengdu"], days_from_now=2, capacity=30, title="Chengdu spring meetup")
    for number in range(32):  # two more than the seats
        register(past.id, name=f"Fan {number}", email=f"fan{number}@example.com")
    past.starts_at = utcnow() - timedelta(days=20)
    db.session.commit()
    make_meetup(city=city_world["chengdu"], days_from_now=100, title="Chengdu summer meetup", status="draft")
    make_meetup(city=city_world["kunming"], days_from_now=-50, title="Kunming meetup")

    page = page_html(planner.get(f"/planner/cities/{city_world['chengdu'].geonameid}?{QUERY}"))
    assert "Chengdu summer meetup" in page and "Kunming meetup" not in page
    past_part = page[page.index("Past meetups"):]
    assert "Chengdu spring meetup" in past_part
    assert "30 of 30" in past_part and '>2</td>' in past_part  # registrations, waiting list
    assert '>—</td>' in past_part  # no check-in yet: the show-up rate is not known
    assert "Waiting-list overflow" in page


def test_history_of_a_city_that_is_no_candidate_is_404(planner, city_world):
    assert planner.get(f"/planner/cities/{city_world['mianyang'].geonameid}?{QUERY}").status_code == 404
    assert planner.get("/planner/cities/1").status_code == 404


# --- the schedule ----------------------------------------------------------------------------

def _slots(page: str) -> list[tuple[str, str]]:
    """(day, selected city) per slot of the proposal."""
    return re.findall(r'<label for="city_\d+"><span class="cd-slot-number">\d+</span> ([^<]+)</label>\s*'
                      r'<select[^>]*>\s*<option value="\d+" selected>([^ ]+) ·', page)


def test_the_dashboard_proposes_the_next_meetups(planner, city_world):
    today = utcnow().date()
    page = page_html(planner.get(DASHBOARD + f"&count=3&start={(today + timedelta(days=21)).isoformat()}"))
    slots = _slots(page)
    assert [city for _day, city in slots] == ORDER[:3]
    first = today + timedelta(days=21)
    assert slots[0][0].endswith(first.strftime("%Y")) and first.strftime("%B") in slots[0][0]
    assert "Accept: create 3 drafts" in page


def test_the_default_start_is_two_weeks_from_today(planner, city_world):
    page = page_html(planner.get(DASHBOARD))
    assert f'value="{(utcnow().date() + timedelta(days=14)).isoformat()}"' in page


def test_accepting_creates_drafts_and_shows_them_in_the_meetup_list(planner, city_world):
    start = utcnow().date() + timedelta(days=14)
    cities = [city_world["kunming"].geonameid, city_world["wuhan"].geonameid]
    answer = _accept(planner, cities, start)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/planner/meetups")
    page = page_html(planner.get("/planner/meetups"))
    assert "2 draft meetups created." in page
    assert "Kunming fan meetup" in page and "Wuhan fan meetup" in page and "Draft" in page

    again = _accept(planner, cities, start)  # the button pressed twice
    assert again.status_code == 302
    assert "already scheduled: nothing new was created" in page_html(planner.get("/planner/meetups"))
    assert meetup_count() == 2


def test_show_with_my_swaps_renders_the_new_proposal(planner, city_world):
    start = utcnow().date() + timedelta(days=14)
    answer = _accept(planner, [city_world["kunming"].geonameid, city_world["wuhan"].geonameid], start, action="preview")
    assert answer.status_code == 200
    page = page_html(answer)
    assert [city for _day, city in _slots(page)] == ["Kunming", "Wuhan"]
    assert "Your choice instead of the ranking’s." in page
    assert meetup_count() == 0


def test_a_city_chosen_twice_is_refused_beside_its_slot(planner, city_world):
    start = utcnow().date() + timedelta(days=14)
    answer = _accept(planner, [city_world["kunming"].geonameid, city_world["chengdu"].geonameid,
                               city_world["kunming"].geonameid], start)
    assert answer.status_code == 422
    page = page_html(answer)
    assert 'id="city_3-errors"' in page and "Kunming is already in slot 1." in page
    assert [city for _day, city in _slots(page)] == ["Kunming", "Chengdu", "Lanzhou"]  # shown without it
    assert meetup_count() == 0


def test_accepting_without_the_form_s_token_creates_nothing(planner, city_world):
    answer = planner.post("/planner/cities/schedule", data={"action": "accept",
                                                            "city_1": city_world["chengdu"].geonameid,
                                                            "start": (utcnow().date()
                                                                      + timedelta(days=14)).isoformat()})
    assert answer.status_code == 400
    assert meetup_count() == 0


def test_bad_parameters_in_the_accept_form_create_nothing(planner, city_world):
    answer = _accept(planner, [city_world["chengdu"].geonameid], utcnow().date() + timedelta(days=14), radius_km="-1")
    assert answer.status_code == 422 and 'id="radius_km-errors"' in page_html(answer)
    answer = _accept(planner, [city_world["chengdu"].geonameid], utcnow().date() - timedelta(days=1))
    assert answer.status_code == 422 and 'id="start-errors"' in page_html(answer)
    assert meetup_count() == 0
