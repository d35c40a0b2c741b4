"""Staff accounts: sign-in, roles on every protected route, API tokens, the users CLI."""
import pytest
from sqlalchemy import select

from meetups.accounts.models import ApiToken, User
from meetups.extensions import db

from .conftest import csrf_token, limited_app, post_form

ROLES = ("admin", "planner", "staff", "engineer")


def test_login_and_logout(client, auth, make_user):
    make_user("planner", email="ping@example.com")
    page = auth.login("ping@example.com")
    assert "Signed in as ping@example.com" in page.get_data(as_text=True)
    assert client.get("/staff").status_code == 200
    auth.logout()
    assert client.get("/staff").status_code == 302


def test_wrong_password_rerenders_the_form_with_an_error(client, auth, make_user):
    make_user("staff", email="door@example.com")
    page = auth.login("door@example.com", "not the password", follow_redirects=False)
    assert page.status_code == 422
    assert "Wrong email or password." in page.get_data(as_text=True)
    assert client.get("/staff").status_code == 302


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(auth):
    page = auth.login("nobody@example.com", "whatever", follow_redirects=False)
    assert page.status_code == 422
    assert "Wrong email or password." in page.get_data(as_text=True)


def test_disabled_account_cannot_sign_in(auth, make_user):
    user = make_user("staff", email="gone@example.com")
    user.active = False
    db.session.commit()
    assert auth.login("gone@example.com", follow_redirects=False).status_code == 422


def test_login_form_needs_its_csrf_token(client, make_user):
    make_user("planner", email="ping@example.com")
    answer = client.post("/login", data={"email": "ping@example.com", "password": "correct horse"})
    assert answer.status_code == 422
    assert "This form has expired. Please try again." in answer.get_data(as_text=True)
    assert client.get("/staff").status_code == 302


def test_logout_needs_its_csrf_token(client, auth, make_user):
    make_user("planner", email="ping@example.com")
    auth.login("ping@example.com")
    client.post("/logout")
    assert client.get("/staff").status_code == 200  # still signed in


def test_login_redirects_only_to_local_pages(client, make_user):
    make_user("planner", email="ping@example.com")
    token = csrf_token(client, "/login")
    answer = client.post("/login?next=https://evil.example/x",
                         data={"csrf_token": token, "email": "ping@example.com", "password": "correct horse"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/staff"


def test_passwords_are_stored_hashed(make_user):
    user = make_user("planner", password="correct horse")
    assert "correct horse" not in user.password_hash
    assert user.check_password("correct horse")


def _protected_rules(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        access = getattr(view, "access", None)
        if access not in (None, "public"):
            yield rule, access


def test_every_route_is_public_on_purpose_or_guarded_by_a_role(app):
    unmarked = [
        rule.rule for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and getattr(app.view_functions[rule.endpoint], "access", None) is None
    ]
    assert unmarked == [], "mark these views with @public, @roles_required or @api_roles_required"


def _url(rule, **known) -> str:
    """The rule's URL with every id 1 (meetup 1 exists where it matters), or as given."""
    return rule.build({arg: known.get(arg, 1) for arg in rule.arguments})[1]


def test_protected_pages_send_anonymous_visitors_to_login(app, client):
    rules = list(_protected_rules(app))
    assert rules, "there should be protected routes to check"
    for rule, _access in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = client.open(_url(rule), method=method)
            if rule.rule.startswith("/api/"):
                assert answer.status_code == 401, rule.rule
                assert answer.get_json()["error"]["code"] == "unauthorized"
            elif method == "GET":
                assert answer.status_code == 302 and "/login" in answer.headers["Location"], rule.rule
            else:  # a POST without a session is refused by CSRF or the login check alike
                assert answer.status_code in (302, 400), rule.rule


@pytest.mark.parametrize("role", ROLES)
def test_protected_routes_refuse_the_wrong_roles(app, client, auth, make_user, make_meetup, role):
    meetup = make_meetup()  # meetup 1, for the routes that take an id; its city is a candidate host
    known = {"geonameid": meetup.city_geonameid}
    make_user(role, email=f"{role}@example.com")
    auth.login(f"{role}@example.com")
    from meetups.accounts.services import issue_token

    token = issue_token(f"{role}@example.com")
    for rule, access in _protected_rules(app):
        allowed = role == "admin" or "any staff" in access or role in access
        if rule.rule.startswith("/api/"):
            answer = client.get(_url(rule, **known), headers={"Authorization": f"Bearer {token}"})
            if "GET" not in rule.methods:
                continue
            if allowed:
                assert answer.status_code == 200, (role, rule.rule)
            else:
                assert answer.status_code == 403, (role, rule.rule)
                assert answer.get_json()["error"]["code"] == "forbidden"
        elif "GET" in rule.methods:
            answer = client.get(_url(rule, **known))
            assert answer.status_code == (200 if allowed else 403), (role, rule.rule)


def test_admin_creates_an_account_from_the_web(client, auth, make_user):
    make_user("admin", email="boss@example.com")
    auth.login("boss@example.com")
    page = post_form(client, "/admin/users", {"email": "new@example.com", "name": "New", "role": "engineer",
                                              "password": "long enough"}, follow_redirects=True)
    assert "Account new@example.com created" in page.get_data(as_text=True)
    assert db.session.scalar(select(User.role).where(User.email == "new@example.com")) == "engineer"


def test_admin_form_shows_field_errors_and_writes_nothing(client, auth, make_user):
    make_user("admin", email="boss@example.com")
    auth.login("boss@example.com")
    page = post_form(client, "/admin/users", {"email": "boss@example.com", "role": "staff", "password": "long enough"})
    assert page.status_code == 422
    assert "There is already an account for boss@example.com." in page.get_data(as_text=True)
    page = post_form(client, "/admin/users", {"email": "x@example.com", "role": "staff", "password": "short"})
    assert page.status_code == 422
    assert db.session.scalar(select(User.id).where(User.email == "x@example.com")) is None


def test_api_token_works_and_is_stored_hashed(client, runner, make_user):
    make_user("engineer", email="eng@example.com", name="Eng")
    result = runner.invoke(args=["users", "token", "eng@example.com"])
    assert result.exit_code == 0
    token = result.output.strip()
    answer = client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.get_json() == {"email": "eng@example.com", "name": "Eng", "role": "engineer"}
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert stored and token not in stored


@pytest.mark.parametrize("header", ["Bearer mtk_not-a-real-token", "Bearer ", "Basic abc", "Token x"])
def test_api_refuses_bad_tokens(client, header):
    answer = client.get("/api/whoami", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"


def test_revoked_token_and_disabled_user_are_refused(client, make_user):
    from meetups.accounts.services import issue_token
    from meetups.shared.timeutil import utcnow

    user = make_user("staff", email="door@example.com")
    token = issue_token("door@example.com")
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    user.active = True
    db.session.scalars(select(ApiToken)).one().revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_users_create_cli(runner):
    result = runner.invoke(args=["users", "create", "Plan@Example.com", "--role", "planner",
                                 "--password", "long enough"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.role).where(User.email == "plan@example.com")) == "planner"


def test_users_create_cli_prompts_for_the_password(runner):
    result = runner.invoke(args=["users", "create", "door@example.com", "--role", "staff"],
                           input="long enough\nlong enough\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "door@example.com")).check_password("long enough")


@pytest.mark.parametrize("args, message", [
    (["bad-email", "--role", "staff", "--password", "long enough"], "Not a valid email address"),
    (["a@example.com", "--role", "staff", "--password", "short"], "at least 8 characters"),
    (["a@example.com", "--role", "king", "--password", "long enough"], "Invalid value for '--role'"),
])
def test_users_create_cli_refuses_bad_input(runner, args, message):
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(User.id)) is None


def test_users_token_for_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "token", "nobody@example.com"])
    assert result.exit_code != 0
    assert "No account for nobody@example.com" in result.output


def test_login_attempts_are_rate_limited_per_ip(app):
    client = limited_app(app, RATELIMIT="3 per minute").test_client()
    answers = [client.post("/login", data={"email": "x@example.com", "password": "guess"}).status_code
               for _ in range(4)]
    assert answers[:3] == [422, 422, 422]  # refused for want of a CSRF token, but counted
    assert answers[3] == 429
    assert client.get("/login").status_code == 200  # reading the page is not limited


def test_rate_limit_storage_can_be_redis(app):
    import random

    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    config = {"RATELIMIT": "2 per minute", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    # Counts are kept per client address; a fresh one per run keeps earlier runs' counts out.
    address = {"REMOTE_ADDR": f"127.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"}
    # Two app instances (two server processes in production) share one count through Redis.
    first, second = limited_app(app, **config).test_client(), limited_app(app, **config).test_client()
    assert first.post("/login", data={}, environ_base=address).status_code == 422
    assert second.post("/login", data={}, environ_base=address).status_code == 422
    assert first.post("/login", data={}, environ_base=address).status_code == 429
    assert first.post("/login", data={}, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code != 429
