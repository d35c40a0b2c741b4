"""English and Simplified Chinese: the catalogue is complete, and every way of choosing a language
works (?lang=, the cookie set by /lang/<code>, Accept-Language, English by default).

The app reads compiled catalogues (.mo, git-ignored). `make test` builds them; so that a bare
`pytest` works too, this module compiles any .mo that is missing or older than its .po while the
tests are being collected, i.e. before any test has rendered a page and Flask-Babel has cached a
catalogue.
"""
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .conftest import page_html, post_form

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "meetups" / "translations"
PO_FILES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
# The same keywords as `make extract-messages`: Babel's defaults plus lazy_gettext as _l.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
ZH_HTML = '<html lang="zh-CN">'
EN_HTML = '<html lang="en">'


def _read_po(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name)


def _compile_stale_catalogues() -> None:
    """Write messages.mo next to each messages.po unless it is newer (like `make translations`,
    fuzzy entries are left out)."""
    for po in PO_FILES:
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = _read_po(po)
        # Written aside and renamed into place: parallel test runs never read half a file.
        fd, draft = tempfile.mkstemp(dir=mo.parent, prefix=".messages.", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)
            os.chmod(draft, 0o644)
            os.replace(draft, mo)
        finally:
            if os.path.exists(draft):
                os.unlink(draft)


_compile_stale_catalogues()


def _assert_chinese(response) -> None:
    page = page_html(response)
    assert ZH_HTML in page
    assert "<title>近期同城会 · 同城会</title>" in page
    assert "只玩不销售：活动页面不卖任何东西。" in page
    assert "City Meetups" not in page


def _assert_english(response) -> None:
    page = page_html(response)
    assert EN_HTML in page
    assert "<title>Upcoming meetups · City Meetups</title>" in page
    assert "Play, never sell: a meetup page sells nothing." in page
    assert "同城会" not in page


# --- the catalogue --------------------------------------------------------------------------------


def test_there_is_a_chinese_catalogue():
    assert TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po" in PO_FILES


@pytest.mark.parametrize("po", PO_FILES, ids=lambda po: po.parent.parent.name)
def test_every_message_is_translated_and_reviewed(po):
    catalog = _read_po(po)
    assert catalog.num_plurals >= 1
    problems = []
    for message in catalog:
        if not message.id:
            continue  # the header
        forms = message.string if message.pluralizable else (message.string,)
        if not all(forms):
            problems.append(f"untranslated: {message.id!r}")
        elif message.pluralizable and len(forms) != catalog.num_plurals:
            problems.append(f"{len(forms)} plural forms, {catalog.language} has {catalog.num_plurals}: {message.id!r}")
        if message.fuzzy:
            problems.append(f"fuzzy (review the translation, then remove the flag): {message.id!r}")
    assert not problems, f"{po.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("po", PO_FILES, ids=lambda po: po.parent.parent.name)
def test_translations_keep_the_placeholders(po):
    """A translation must use the same %(name)s placeholders as its msgid, or rendering breaks."""
    errors = [
        f"{message.id!r}: {error}" for message, message_errors in _read_po(po).check() for error in message_errors
    ]
    assert not errors, "\n".join(errors)


def _source_messages() -> set:
    """Every msgid in the code and templates, found as `make extract-messages` finds them."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")

    def only_sources(path: str) -> bool:
        relative = Path(path).relative_to(ROOT).parts
        return relative[0] in ("meetups", "templates") and not relative[-1].startswith((".", "_"))

    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=only_sources
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("po", PO_FILES, ids=lambda po: po.parent.parent.name)
def test_the_catalogue_holds_every_message_of_the_code(po):
    """New text marked for translation must reach the catalogue: run `make extract-messages`,
    then translate what it adds."""
    source = _source_messages()
    assert "Staff sign-in" in source and "Please sign in to open that page." in source  # extraction works
    catalogued = {message.id if isinstance(message.id, str) else message.id[0] for message in _read_po(po)}
    missing = sorted(source - catalogued)
    assert not missing, "run `make extract-messages` and translate:\n" + "\n".join(missing)


# --- choosing the language ------------------------------------------------------------------------


def test_english_by_default(client):
    _assert_english(client.get("/"))


def test_lang_query_argument(client):
    _assert_chinese(client.get("/?lang=zh"))
    _assert_english(client.get("/?lang=en"))


@pytest.mark.parametrize("header", ["zh-CN,zh;q=0.9", "zh-CN", "zh"])
def test_accept_language(client, header):
    _assert_chinese(client.get("/", headers={"Accept-Language": header}))


def test_accept_language_prefers_the_better_match(client):
    _assert_english(client.get("/", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.8"}))
    _assert_english(client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}))


def test_language_switch_sets_a_cookie_that_is_kept(client):
    response = client.get("/lang/zh")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get_cookie("lang").value == "zh"
    _assert_chinese(client.get("/"))
    _assert_chinese(client.get("/"))  # still Chinese on the next page

    client.get("/lang/en")
    assert client.get_cookie("lang").value == "en"
    _assert_english(client.get("/"))


def test_cookie_beats_accept_language_and_the_query_argument_beats_the_cookie(client):
    client.get("/lang/en")
    _assert_english(client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    _assert_chinese(client.get("/?lang=zh"))
    _assert_english(client.get("/"))  # ?lang= is for one page; it does not change the cookie


def test_unknown_language_is_ignored(client):
    response = client.get("/lang/fr")
    assert response.status_code == 302
    assert client.get_cookie("lang") is None
    _assert_english(client.get("/"))
    _assert_english(client.get("/?lang=fr"))


def test_language_links_lead_back_to_the_same_page(client):
    page = page_html(client.get("/login"))
    link = re.search(r'<a href="(/lang/zh[^"]*)" lang="zh">中文</a>', page)
    assert link, "no link to the Chinese version"
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert ZH_HTML in page_html(client.get(response.headers["Location"]))


def test_switching_language_on_a_page_opened_with_lang_query(client):
    page = page_html(client.get("/?lang=zh"))
    link = re.search(r'<a href="(/lang/en[^"]*)" lang="en">English</a>', page)
    assert link, "no link to the English version"
    _assert_english(client.get(link.group(1).replace("&amp;", "&"), follow_redirects=True))


def _is_local_path(location: str) -> bool:
    """Read the Location header as a browser does (tabs and newlines dropped, \\ taken as /)."""
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(seen)
    return seen.startswith("/") and not seen.startswith("//") and not parts.scheme and not parts.netloc


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path?x=1",
        "https://evil.example",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
    ],
)
def test_language_switch_does_not_redirect_off_site(client, target):
    response = client.get("/lang/zh", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert _is_local_path(location), f"next={target!r} redirected to {location!r}"
    assert client.get_cookie("lang").value == "zh"


def test_language_switch_follows_a_local_next(client):
    response = client.get("/lang/zh", query_string={"next": "/login"})
    assert response.headers["Location"] == "/login"


# --- pages in Chinese -----------------------------------------------------------------------------


def test_login_page_in_chinese(client):
    page = page_html(client.get("/login?lang=zh"))
    assert ZH_HTML in page
    assert "<title>工作人员登录 · 同城会</title>" in page
    assert re.search(r'<label for="email">邮箱</label>', page)
    assert re.search(r'<label for="password">密码</label>', page)
    assert "在这台设备上保持登录" in page
    assert ">登录</button>" in page
    for english in ("Email", "Password", "Keep me signed in", "Sign in"):
        assert english not in page


def test_login_errors_in_chinese(client, make_user):
    client.get("/lang/zh")
    make_user("staff", email="door@example.com")
    response = post_form(client, "/login", {"email": "door@example.com", "password": "not the password"})
    assert response.status_code == 422
    assert "邮箱或密码错误。" in page_html(response)

    # WTForms' own messages come from its catalogue (Flask-WTF's i18n follows Flask-Babel's locale).
    response = post_form(client, "/login", {"email": "", "password": ""})
    assert response.status_code == 422
    assert "该字段是必填字段。" in page_html(response)


def test_sign_in_prompt_in_chinese(client):
    """The lazy string given to Flask-Login is translated when it is shown."""
    client.get("/lang/zh")
    page = page_html(client.get("/staff", follow_redirects=True))
    assert "请先登录，再打开这个页面。" in page
    assert "<title>工作人员登录 · 同城会</title>" in page


def test_not_found_page_in_chinese(client):
    response = client.get("/no-such-page?lang=zh")
    assert response.status_code == 404
    page = page_html(response)
    assert ZH_HTML in page
    assert "<title>页面不存在 · 同城会</title>" in page
    assert "这个页面不存在" in page
    assert "查看近期同城会" in page

    client.get("/lang/zh")
    assert "这个页面不存在" in page_html(client.get("/no-such-page"))


def test_not_found_page_in_english(client):
    page = page_html(client.get("/no-such-page"))
    assert EN_HTML in page
    assert "This page does not exist" in page


def test_seat_counts_in_both_languages(client, make_meetup):
    make_meetup(capacity=40)
    assert "40 seats" in page_html(client.get("/"))
    assert "40 个名额" in page_html(client.get("/?lang=zh"))
