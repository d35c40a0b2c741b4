"""`flask fans import`: what a planner sees and what lands in the fan base."""
import io
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meetups.cities.models import City
from meetups.extensions import db
from meetups.fans import services
from meetups.fans.models import Fan
from meetups.fans.services import ImportAborted, import_fans

HEADER = "handle,email,city,lat,lon,level,joined_at\n"
GOOD_BEFORE = "alice,alice@example.com,Chengdu,,,3,2013-05-20\n"
GOOD_AFTER = "bob,bob@example.com,成都,,,1,2014-01-02\n"


def write_csv(tmp_path: Path, content: str | bytes, encoding: str = "utf-8") -> str:
    path = tmp_path / "fans.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return str(path)


def fans_import(runner, tmp_path: Path, content: str | bytes, *options: str, encoding: str = "utf-8"):
    return runner.invoke(args=["fans", "import", write_csv(tmp_path, content, encoding), *options])


def stored_fans() -> dict[str, Fan]:
    db.session.expire_all()  # the command committed through its own session
    return {fan.email: fan for fan in db.session.scalars(select(Fan))}


def fan_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Fan))


def city_id(name: str, province: str | None = None) -> int:
    query = select(City.geonameid).where(City.name == name)
    if province:
        query = query.where(City.province == province)
    return db.session.execute(query).scalar_one()


def rejections(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("line ")]


# -- the summary and the rows that go in ---------------------------------------------------------


def test_import_reports_a_summary_and_stores_every_field(gazetteer, runner, tmp_path):
    result = fans_import(runner, tmp_path, HEADER + GOOD_BEFORE + GOOD_AFTER
                         + "carol,Carol@Example.COM,Xi'an,,,,\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "imported 3, updated 0, rejected 0"
    assert rejections(result.stdout) == []

    fans = stored_fans()
    assert set(fans) == {"alice@example.com", "bob@example.com", "carol@example.com"}
    alice = fans["alice@example.com"]
    assert (alice.handle, alice.city_geonameid, alice.level) == ("alice", city_id("Chengdu"), 3)
    assert alice.joined_at == datetime(2013, 5, 20)
    assert (alice.latitude, alice.longitude) == (None, None)
    assert fans["bob@example.com"].city_geonameid == city_id("Chengdu")
    carol = fans["carol@example.com"]
    assert (carol.city_geonameid, carol.level, carol.joined_at) == (city_id("Xi’an"), None, None)


def test_only_handle_and_email_are_required(app, runner, tmp_path):
    result = fans_import(runner, tmp_path, "email,handle\ndan@example.com,dan\n")
    assert result.exit_code == 0, result.output
    assert "imported 1, updated 0, rejected 0" in result.stdout
    dan = stored_fans()["dan@example.com"]
    assert (dan.handle, dan.city_geonameid) == ("dan", None)


def test_blank_lines_are_skipped_silently(gazetteer, runner, tmp_path):
    result = fans_import(runner, tmp_path, HEADER + GOOD_BEFORE + "\n\n" + GOOD_AFTER + "\n")
    assert "imported 2, updated 0, rejected 0" in result.stdout
    assert rejections(result.stdout) == []


def test_header_names_are_case_and_space_insensitive(gazetteer, runner, tmp_path):
    result = fans_import(runner, tmp_path, " Handle , EMAIL ,City\nerin,erin@example.com,Chengdu\n")
    assert "imported 1, updated 0, rejected 0" in result.stdout
    assert stored_fans()["erin@example.com"].city_geonameid == city_id("Chengdu")


@pytest.fixture
def machine_in_new_york(monkeypatch):
    """The importing machine's local time zone must not leak into stored times."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_aware_joined_at_is_stored_as_utc(app, runner, tmp_path, machine_in_new_york):
    content = ("handle,email,joined_at\n"
               "a,a@example.com,2013-05-20T08:00:00+08:00\n"
               "b,b@example.com,2013/05/20\n"
               "c,c@example.com,2013-05-20 21:30\n")
    result = fans_import(runner, tmp_path, content)
    assert "imported 3, updated 0, rejected 0" in result.stdout
    fans = stored_fans()
    assert fans["a@example.com"].joined_at == datetime(2013, 5, 20, 0, 0)
    assert fans["b@example.com"].joined_at == datetime(2013, 5, 20)
    assert fans["c@example.com"].joined_at == datetime(2013, 5, 20, 21, 30)


def test_imported_times_compare_in_sql_like_any_other(gazetteer, runner, tmp_path):
    # SQLite compares stored DATETIME text: the import must write what SQLAlchemy writes.
    fans_import(runner, tmp_path, HEADER + GOOD_BEFORE)
    joined_since = select(Fan.email).where(Fan.joined_at >= datetime(2013, 5, 20))
    assert db.session.scalars(joined_since).all() == ["alice@example.com"]
    assert db.session.scalars(select(Fan.email).where(Fan.joined_at > datetime(2013, 5, 20))).all() == []


# -- rejected rows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_row, reason", [
    ("eve,eve@example.com,Atlantis,,,,", "line 3: unknown city 'Atlantis'"),
    ("eve,eve-at-example.com,Chengdu,,,,", "line 3: bad email 'eve-at-example.com'"),
    ("eve,eve@example,Chengdu,,,,", "line 3: bad email 'eve@example'"),
    ("eve,,Chengdu,,,,", "line 3: email is empty"),
    ("  ,eve@example.com,Chengdu,,,,", "line 3: handle is empty"),
    ("x" * 101 + ",eve@example.com,Chengdu,,,,", "line 3: handle is longer than 100 characters"),
    ("eve,eve@example.com,,north,104.0,,", "line 3: bad coordinates 'north','104.0'"),
    ("eve,eve@example.com,,95.0,104.0,,", "line 3: bad coordinates '95.0','104.0'"),
    ("eve,eve@example.com,,30.0,181,,", "line 3: bad coordinates '30.0','181'"),
    ("eve,eve@example.com,,30.0,,,", "line 3: bad coordinates '30.0',''"),
    ("eve,eve@example.com,,,104.0,,", "line 3: bad coordinates '','104.0'"),
    ("eve,eve@example.com,,nan,104.0,,", "line 3: bad coordinates 'nan','104.0'"),
    ("eve,eve@example.com,Chengdu", "line 3: expected 7 fields, found 3"),
    ("eve,eve@example.com,Chengdu,,,,,extra", "line 3: expected 7 fields, found 8"),
    ("eve,eve@example.com,Chengdu,,,high,", "line 3: level must be a whole number"),
    ("eve,eve@example.com,Chengdu,,,2.5,", "line 3: level must be a whole number"),
    ("eve,eve@example.com,Chengdu,,,99999999999,", "line 3: level must be a whole number"),
    ("eve,eve@example.com,Chengdu,,,-1,", "line 3: level must be a whole number"),
    ("eve,eve@example.com,Chengdu,,,,yesterday", "line 3: joined_at must be a date like 2013-05-20, not 'yesterday'"),
    ("eve,eve@example.com,Chengdu,,,,2013-13-01", "line 3: joined_at must be a date"),
])
def test_a_bad_row_is_reported_with_its_line_and_the_rest_go_in(gazetteer, runner, tmp_path, bad_row, reason):
    result = fans_import(runner, tmp_path, HEADER + GOOD_BEFORE + bad_row + "\n" + GOOD_AFTER)
    assert result.exit_code == 0, result.output
    assert len(rejections(result.stdout)) == 1
    assert rejections(result.stdout)[0].startswith(reason)
    assert result.stdout.splitlines()[-1] == "imported 2, updated 0, rejected 1"
    assert set(stored_fans()) == {"alice@example.com", "bob@example.com"}


def test_line_numbers_count_physical_lines_of_the_file(gazetteer, runner, tmp_path):
    content = (
        HEADER                                         # line 1
        + GOOD_BEFORE                                  # line 2
        + "\n"                                         # line 3: blank
        + "eve,not-an-email,Chengdu,,,,\n"             # line 4
        + '"two\nlines",two@example.com,Chengdu,,,,\n'  # lines 5-6: a quoted line break
        + '"ml\nbad",ml@example.com,Atlantis,,,,\n'     # lines 7-8: rejected where it starts
        + "zed,zed@example.com,Atlantis,,,,\n"         # line 9
    )
    result = fans_import(runner, tmp_path, content)
    assert [line.split(":")[0] for line in rejections(result.stdout)] == ["line 4", "line 7", "line 9"]
    assert "imported 2, updated 0, rejected 3" in result.stdout
    assert stored_fans()["two@example.com"].handle == "two\nlines"


def test_a_line_in_another_encoding_is_rejected_and_the_utf8_rows_go_in(gazetteer, runner, tmp_path):
    # A line pasted from a GBK source into a UTF-8 file whose Chinese names are all valid UTF-8.
    content = (HEADER.encode() + "米粉,mi@example.com,成都,,,,\n".encode()
               + "粉丝,xa@example.com,西安,,,,\n".encode()
               + b"bad,bad@example.com," + "成都".encode("gbk") + b",,,,\n"
               + GOOD_AFTER.encode())
    result = fans_import(runner, tmp_path, content)
    assert result.exit_code == 0, result.output
    assert len(rejections(result.stdout)) == 1
    assert rejections(result.stdout)[0].startswith("line 4: not valid UTF-8 text")
    assert "imported 3, updated 0, rejected 1" in result.stdout
    fans = stored_fans()
    assert (fans["mi@example.com"].handle, fans["xa@example.com"].handle) == ("米粉", "粉丝")
    assert fans["mi@example.com"].city_geonameid == city_id("Chengdu")
    assert fans["xa@example.com"].city_geonameid == city_id("Xi’an")
    assert "bad@example.com" not in fans


def test_stray_invalid_byte_in_a_utf8_file_is_rejected(gazetteer, runner, tmp_path):
    content = HEADER.encode() + GOOD_BEFORE.encode() + b"jos\xe9,jose@example.com,Chengdu,,,,\n" + GOOD_AFTER.encode()
    result = fans_import(runner, tmp_path, content)
    assert rejections(result.stdout)[0].startswith("line 3: not valid UTF-8 text")
    assert "imported 2, updated 0, rejected 1" in result.stdout


def test_every_rejection_is_listed_in_file_order(gazetteer, runner, tmp_path):
    bad = [f"fan{n},fan{n}@nowhere,Chengdu,,,," for n in range(50)]
    result = fans_import(runner, tmp_path, HEADER + "\n".join(bad) + "\n" + GOOD_AFTER)
    assert [line.split(":")[0] for line in rejections(result.stdout)] == [f"line {n}" for n in range(2, 52)]
    assert "imported 1, updated 0, rejected 50" in result.stdout


# -- the whole file refused -----------------------------------------------------------------------


@pytest.mark.parametrize("content, reason", [
    ("handle,city\nalice,Chengdu\n", "line 1: missing column 'email'"),
    ("email,city\nalice@example.com,Chengdu\n", "line 1: missing column 'handle'"),
    ("handle,email,lat\nalice,alice@example.com,30\n", "line 1: lat and lon come together"),
    ("", "line 1: the file is empty"),
])
def test_a_bad_header_refuses_the_whole_file(gazetteer, runner, tmp_path, content, reason):
    fans_import(runner, tmp_path, HEADER + "keep,keep@example.com,Chengdu,,,,\n")
    result = fans_import(runner, tmp_path, content)
    assert result.exit_code == 1
    assert result.stdout.startswith(reason)
    assert "nothing was written" in result.stderr
    assert set(stored_fans()) == {"keep@example.com"}


def test_a_broken_quote_refuses_the_whole_file_and_writes_nothing(gazetteer, runner, tmp_path):
    # An unclosed quote swallows the rest of the file into one field: no row after it can be trusted.
    rows = "".join(f"fan{n},fan{n}@example.com,Chengdu,,,,\n" for n in range(10_000))
    result = fans_import(runner, tmp_path, HEADER + GOOD_BEFORE + 'eve,"eve@example.com,Chengdu,,,,\n' + rows)
    assert result.exit_code == 1
    assert result.stdout.startswith("line 3: ")
    assert fan_count() == 0


# -- upsert by email --------------------------------------------------------------------------------


def test_a_second_import_updates_by_email_without_duplicates(gazetteer, runner, tmp_path):
    fans_import(runner, tmp_path, HEADER + GOOD_BEFORE + GOOD_AFTER)
    first = stored_fans()["alice@example.com"]
    created_at, fan_id = first.created_at, first.id

    result = fans_import(runner, tmp_path, HEADER + "alice2,ALICE@example.com,Xi’an,,,7,2015-06-07\n"
                         + "frank,frank@example.com,,,,,\n")
    assert result.exit_code == 0, result.output
    assert "imported 1, updated 1, rejected 0" in result.stdout
    fans = stored_fans()
    assert len(fans) == 3
    alice = fans["alice@example.com"]
    assert (alice.id, alice.created_at) == (fan_id, created_at)
    assert (alice.handle, alice.city_geonameid, alice.level) == ("alice2", city_id("Xi’an"), 7)
    assert alice.joined_at == datetime(2015, 6, 7)
    assert alice.updated_at >= created_at


def test_an_empty_cell_keeps_what_the_fan_base_knows(gazetteer, runner, tmp_path):
    fans_import(runner, tmp_path, HEADER + "alice,alice@example.com,Chengdu,30.6,104.1,3,2013-05-20\n")
    result = fans_import(runner, tmp_path, HEADER + "alice-renamed,alice@example.com,,,,,\n")
    assert "imported 0, updated 1, rejected 0" in result.stdout
    alice = stored_fans()["alice@example.com"]
    assert alice.handle == "alice-renamed"
    assert (alice.city_geonameid, alice.latitude, alice.longitude) == (city_id("Chengdu"), 30.6, 104.1)
    assert (alice.level, alice.joined_at) == (3, datetime(2013, 5, 20))


def test_a_missing_column_keeps_what_the_fan_base_knows(gazetteer, runner, tmp_path):
    fans_import(runner, tmp_path, HEADER + GOOD_BEFORE)
    fans_import(runner, tmp_path, "handle,email\nalice-renamed,alice@example.com\n")
    alice = stored_fans()["alice@example.com"]
    assert (alice.handle, alice.city_geonameid, alice.level) == ("alice-renamed", city_id("Chengdu"), 3)


def test_the_same_email_twice_in_one_file_keeps_the_last_row(gazetteer, runner, tmp_path):
    result = fans_import(runner, tmp_path, HEADER + GOOD_BEFORE + "alice-again,alice@example.com,西安,,,,\n")
    assert "imported 1, updated 1, rejected 0" in result.stdout
    alice = stored_fans()["alice@example.com"]
    assert (alice.handle, alice.city_geonameid, alice.level) == ("alice-again", city_id("Xi’an"), 3)


# -- city names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, expected", [
    ("Chengdu", "Chengdu"), ("chengdu", "Chengdu"), ("CHENGDU", "Chengdu"), ("成都", "Chengdu"),
    ("成都市", "Chengdu"), ("  Chengdu  ", "Chengdu"), ('" 成都 "', "Chengdu"), ("Xi'an", "Xi’an"),
    ("Xi’an", "Xi’an"), ("xi'an", "Xi’an"), ("西安", "Xi’an"), ("Chengdu City", "Chengdu"),
])
def test_english_and_chinese_city_names(gazetteer, runner, tmp_path, typed, expected):
    result = fans_import(runner, tmp_path, f"handle,email,city\nfan,fan@example.com,{typed}\n")
    assert "imported 1, updated 0, rejected 0" in result.stdout, result.output
    assert stored_fans()["fan@example.com"].city_geonameid == city_id(expected)


@pytest.mark.parametrize("province, expected", [
    ("Zhejiang", "Zhejiang"), ("浙江", "Zhejiang"), ("浙江省", "Zhejiang"), ("Jiangsu", "Jiangsu"),
    ("江苏省", "Jiangsu"),
])
def test_the_province_column_settles_a_shared_name(gazetteer, runner, tmp_path, province, expected):
    result = fans_import(runner, tmp_path, f"handle,email,city,province\nfan,fan@example.com,Taizhou,{province}\n")
    assert "imported 1, updated 0, rejected 0" in result.stdout
    assert "warning" not in result.stderr
    assert stored_fans()["fan@example.com"].city_geonameid == city_id("Taizhou", expected)


def test_a_city_outside_the_given_province_is_rejected(gazetteer, runner, tmp_path):
    result = fans_import(runner, tmp_path, "handle,email,city,province\nfan,fan@example.com,Chengdu,Jiangsu\n")
    assert rejections(result.stdout) == ["line 2: no city 'Chengdu' in province 'Jiangsu'"]
    assert fan_count() == 0


def test_a_shared_name_without_province_goes_to_the_larger_city_with_a_warning(gazetteer, runner, tmp_path):
    content = "handle,email,city,province\n" + "".join(f"t{n},t{n}@example.com,Taizhou,\n" for n in range(3))
    result = fans_import(runner, tmp_path, content)
    assert result.exit_code == 0
    assert "imported 3, updated 0, rejected 0" in result.stdout
    assert "warning: 'Taizhou' is the name of 2 cities; 3 row(s) from line 2" in result.stderr
    assert "Taizhou, Jiangsu (not Taizhou, Zhejiang)" in result.stderr
    assert "warning" not in result.stdout
    assert {fan.city_geonameid for fan in stored_fans().values()} == {city_id("Taizhou", "Jiangsu")}


# -- coordinates ------------------------------------------------------------------------------------


def test_coordinates_without_a_city_place_the_fan_at_the_nearest_city(app, make_city, runner, tmp_path):
    west = make_city(name="Westtown", lat=30.0, lon=104.0)
    east = make_city(name="Easttown", lat=30.0, lon=105.0)
    content = ("handle,email,city,lat,lon\n"
               "w,w@example.com,,30.1,104.4\n"
               "e,e@example.com,, 29.9 , 104.6 \n"
               "far,far@example.com,,45.0,104.0\n"
               "named,named@example.com,Westtown,30.0,104.9\n")
    result = fans_import(runner, tmp_path, content)
    assert rejections(result.stdout) == ["line 4: no gazetteer city within 300 km of 45.0,104.0"]
    assert "imported 3, updated 0, rejected 1" in result.stdout
    fans = stored_fans()
    assert (fans["w@example.com"].city_geonameid, fans["w@example.com"].latitude) == (west.geonameid, 30.1)
    assert (fans["e@example.com"].city_geonameid, fans["e@example.com"].longitude) == (east.geonameid, 104.6)
    # A named city wins over the coordinates, which are kept as the fan's own.
    named = fans["named@example.com"]
    assert (named.city_geonameid, named.latitude, named.longitude) == (west.geonameid, 30.0, 104.9)


def test_new_coordinates_move_the_fan_to_the_city_nearest_them(app, make_city, runner, tmp_path):
    make_city(name="Westtown", lat=30.0, lon=104.0)
    east = make_city(name="Easttown", lat=30.0, lon=105.0)
    fans_import(runner, tmp_path, "handle,email,lat,lon\nmover,mover@example.com,30.0,104.1\n")
    result = fans_import(runner, tmp_path, "handle,email,lat,lon\nmover,mover@example.com,30.0,104.9\n")
    assert "imported 0, updated 1, rejected 0" in result.stdout
    mover = stored_fans()["mover@example.com"]
    assert (mover.city_geonameid, mover.longitude) == (east.geonameid, 104.9)


# -- encodings --------------------------------------------------------------------------------------


def test_a_gb18030_file_from_excel_imports(gazetteer, runner, tmp_path):
    content = ("handle,email,city,province,level\n"
               "米粉一号,one@example.com,成都市,,1\n"
               "米粉二号,two@example.com,泰州,江苏,2\n"
               "米粉三号,three@example.com,台州,浙江省,3\n"
               "西安的粉丝,four@example.com,西安,,4\n")
    result = fans_import(runner, tmp_path, content.replace("\n", "\r\n"), encoding="gb18030")
    assert result.exit_code == 0, result.output
    assert "imported 4, updated 0, rejected 0" in result.stdout
    assert "read as GB18030" in result.stderr
    fans = stored_fans()
    assert (fans["one@example.com"].handle, fans["one@example.com"].city_geonameid) == ("米粉一号", city_id("Chengdu"))
    assert fans["two@example.com"].city_geonameid == city_id("Taizhou", "Jiangsu")
    assert fans["three@example.com"].city_geonameid == city_id("Taizhou", "Zhejiang")
    four = fans["four@example.com"]
    assert (four.handle, four.city_geonameid) == ("西安的粉丝", city_id("Xi’an"))


def test_a_utf8_file_with_a_byte_order_mark_imports(gazetteer, runner, tmp_path):
    result = fans_import(runner, tmp_path, ("\ufeff" + "handle,email,city\n米粉,mi@example.com,成都\n").encode())
    assert "imported 1, updated 0, rejected 0" in result.stdout
    assert "GB18030" not in result.stderr
    assert stored_fans()["mi@example.com"].city_geonameid == city_id("Chengdu")


def _cut_at_sniff_boundary(encoding: str) -> bytes:
    """A file longer than the encoding sniffer's 64 KiB look-ahead, cut there mid-character."""
    rows = "".join(f"粉丝{n},fan{n}@example.com,成都\n" for n in range(2500))
    for padding in range(40):  # shifts every later byte, so one of these lands mid-character
        content = ("handle,email,city" + " " * padding + "\n" + rows).encode(encoding)
        head = content[:65536]
        try:
            head.decode(encoding)
        except UnicodeDecodeError:
            return content
    raise AssertionError("no padding cuts a character at the boundary")


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_character_cut_by_the_encoding_sniffer_does_not_confuse_it(gazetteer, runner, tmp_path, encoding):
    result = fans_import(runner, tmp_path, _cut_at_sniff_boundary(encoding))
    assert result.exit_code == 0, result.output
    assert "imported 2500, updated 0, rejected 0" in result.stdout
    assert db.session.scalar(select(func.count()).where(Fan.city_geonameid == city_id("Chengdu"))) == 2500


# -- --strict ---------------------------------------------------------------------------------------


def test_strict_with_a_bad_row_writes_nothing_and_exits_1(gazetteer, runner, tmp_path):
    fans_import(runner, tmp_path, HEADER + "keep,keep@example.com,Chengdu,,,,\n")
    content = HEADER + GOOD_BEFORE + "eve,eve@example.com,Atlantis,,,,\n" + "keep-renamed,keep@example.com,,,,,\n"
    result = fans_import(runner, tmp_path, content, "--strict")
    assert result.exit_code == 1
    assert rejections(result.stdout) == ["line 3: unknown city 'Atlantis'"]
    assert "imported 0, updated 0, rejected 1" in result.stdout
    assert "nothing was written" in result.stderr
    fans = stored_fans()
    assert set(fans) == {"keep@example.com"}
    assert fans["keep@example.com"].handle == "keep"


def test_strict_without_bad_rows_writes_everything(gazetteer, runner, tmp_path):
    result = fans_import(runner, tmp_path, HEADER + GOOD_BEFORE + GOOD_AFTER, "--strict")
    assert result.exit_code == 0, result.output
    assert "imported 2, updated 0, rejected 0" in result.stdout
    assert set(stored_fans()) == {"alice@example.com", "bob@example.com"}


# -- the service, as the demo and other callers use it ----------------------------------------------


def test_service_reports_rejections_through_its_callback(gazetteer):
    content = (HEADER + GOOD_BEFORE + "eve,eve@example.com,Atlantis,,,,\n").encode()
    rejected: list[tuple[int, str]] = []
    seen_bytes: list[int] = []
    report = import_fans(io.BytesIO(content), on_reject=lambda line, reason: rejected.append((line, reason)),
                         on_bytes=seen_bytes.append)
    assert (report.imported, report.updated, report.rejected, report.written) == (1, 0, 1, True)
    assert rejected == [(3, "unknown city 'Atlantis'")]
    assert sum(seen_bytes) == len(content)
    assert fan_count() == 1


def test_service_import_spanning_many_batches(gazetteer, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 7)
    rows = "".join(f"fan{n},fan{n}@example.com,{'成都' if n % 2 else 'Xi’an'},,,{n},\n" for n in range(100))
    report = import_fans(io.BytesIO((HEADER + rows).encode()))
    assert (report.imported, report.updated, report.rejected) == (100, 0, 0)
    fans = stored_fans()
    assert fans["fan41@example.com"].level == 41
    assert fans["fan42@example.com"].city_geonameid == city_id("Xi’an")


def test_service_refuses_a_file_without_email_column(app):
    with pytest.raises(ImportAborted) as refused:
        import_fans(io.BytesIO(b"handle,city\nalice,Chengdu\n"))
    assert (refused.value.line, refused.value.reason) == (1, "missing column 'email' (the header has: handle, city)")
    assert fan_count() == 0


def test_strict_writes_nothing_when_the_bad_row_comes_after_many_batches(gazetteer, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    rows = "".join(f"fan{n},fan{n}@example.com,Chengdu,,,,\n" for n in range(20))
    report = import_fans(io.BytesIO((HEADER + rows + "eve,eve@example.com,Atlantis,,,,\n").encode()), strict=True)
    assert (report.written, report.imported, report.rejected) == (False, 0, 1)
    assert fan_count() == 0


def test_a_database_failure_mid_import_writes_nothing(gazetteer, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    write, calls = services._Upsert.write, []

    def failing_write(upsert, batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        write(upsert, batch)

    monkeypatch.setattr(services._Upsert, "write", failing_write)
    rows = "".join(f"fan{n},fan{n}@example.com,Chengdu,,,,\n" for n in range(20))
    with pytest.raises(RuntimeError, match="the disk is full"):
        import_fans(io.BytesIO((HEADER + rows).encode()))
    assert fan_count() == 0

