"""Importing the fan base from a forum CSV export: streamed, validated row by row, upserted by email."""
import codecs
import csv
import io
import queue
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any, BinaryIO, Protocol

from sqlalchemy import Connection, bindparam, func, select

from ..cities.geo import NearestCityIndex
from ..cities.services import CityMatcher, Resolution
from ..extensions import db
from ..shared.db import driver_sql, on_conflict_insert, to_database
from ..shared.timeutil import utcnow
from ..shared.validation import column_length, is_email, parse_number
from .counts import recount
from .models import Fan

REQUIRED_COLUMNS = ("handle", "email")
OPTIONAL_COLUMNS = ("city", "province", "lat", "lon", "level", "joined_at")
BATCH_SIZE = 2500
# A point farther than this from every gazetteer city is more likely a typo than a fan.
MAX_PLACEMENT_KM = 300.0
MAX_HANDLE_LENGTH = column_length(Fan.handle)
MAX_LEVEL = 2**31 - 1  # what an INTEGER column holds on every database we support
SNIFF_BYTES = 65536
# Forum exports repeat join dates and levels endlessly; this many parsed ones are remembered.
MEMO_LIMIT = 100_000

_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape could not decode


class ImportAborted(Exception):
    """The file as a whole cannot be imported (no header, missing column); nothing was written."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    written: bool = True
    encoding: str = "utf-8"
    # Names that several cities share: name → (chosen, passed over, rows, first line).
    ambiguous: dict[str, list] = field(default_factory=dict)
    placed_by_coordinates: int = 0


class _CsvReader(Protocol):
    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


class _CountingReader(io.RawIOBase):
    """Wraps a binary file and counts bytes, for a progress bar that needs no second pass."""

    def __init__(self, raw: BinaryIO, on_bytes: Callable[[int], None] | None):
        self._raw = raw
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._raw.readinto(buffer)
        if count and self._on_bytes:
            self._on_bytes(count)
        return count


def _sniff_encoding(raw: BinaryIO) -> str:
    """UTF-8 (with or without BOM) unless the start of the file only makes sense as GB18030,
    the encoding Excel uses for Chinese CSV files."""
    head = raw.read(SNIFF_BYTES)
    raw.seek(0)
    whole_file = len(head) < SNIFF_BYTES  # otherwise the last character may be cut in two
    if _decodes(head, "utf-8", whole_file):
        return "utf-8-sig"
    # Valid UTF-8 Chinese often decodes as GB18030 too: one pasted line must not flip the file.
    if _decodes(head, "gb18030", whole_file) and not _mostly_utf8(head):
        return "gb18030"
    return "utf-8-sig"


def _decodes(head: bytes, encoding: str, whole_file: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=whole_file)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(head: bytes) -> bool:
    """More of the non-ASCII lines are UTF-8 than not (GB18030 Chinese is almost never valid UTF-8)."""
    utf8 = other = 0
    for line in head.splitlines()[:-1]:  # the last line may be cut
        if not line.isascii():
            try:
                line.decode("utf-8")
                utf8 += 1
            except UnicodeDecodeError:
                other += 1
    return utf8 > other


def _parse_joined(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("/", "-"))
    # Naive UTC is the database's convention (see timeutil); an offset in the file is honoured.
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


class _FanRows:
    """Turns the cells of one CSV row into the values of a fan, or the reason the row is refused."""

    def __init__(self, position: dict[str, int], width: int, encoding: str, report: ImportReport,
                 to_database: Callable[[datetime], Any]):
        self._report = report
        self._wrong_encoding = (f"not valid {encoding.removesuffix('-sig').upper()} text "
                                "(wrong encoding? save the file as UTF-8)")
        # An absent column reads the empty cell appended to each row, so every row unpacks alike.
        self._cells = itemgetter(*(position.get(name, width) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS))
        self._matcher = CityMatcher()
        self._nearest = NearestCityIndex.from_database() if "lat" in position else None
        self._to_database = to_database
        self._now = to_database(utcnow())
        self._joined: dict[str, Any] = {}
        self._levels: dict[str, int | None] = {}
        self._ambiguous: Counter = Counter()
        self._first_ambiguous: dict[str, tuple[int, str, list[str]]] = {}

    def values(self, row: list[str], line: int) -> tuple | str:
        """(handle, email, city id, lat, lon, level, joined_at, created_at, updated_at) or why not."""
        whole = "".join(row)
        if not whole.isascii() and _UNDECODABLE.search(whole):
            return self._wrong_encoding
        row.append("")
        handle, email, city, province, lat, lon, level, joined = self._cells(row)

        handle = handle.strip()
        if not handle:
            return "handle is empty"
        if len(handle) > MAX_HANDLE_LENGTH:
            return f"handle is longer than {MAX_HANDLE_LENGTH} characters"
        email = email.strip().lower()
        if not email:
            return "email is empty"
        if not is_email(email):
            return f"bad email {email!r}"

        latitude = longitude = city_id = None
        if (lat or lon) and (lat.strip() or lon.strip()):
            latitude, longitude = parse_number(lat, float, -90, 90), parse_number(lon, float, -180, 180)
            if latitude is None or longitude is None:
                return f"bad coordinates {lat.strip()!r},{lon.strip()!r} (lat -90..90, lon -180..180)"
        if city and not city.isspace():
            resolution = self._matcher.resolve(city, province or None)
            if resolution.error:
                return resolution.error
            city_id = resolution.geonameid
            if resolution.passed_over:
                self._note_ambiguous(city.strip(), resolution, line)
        elif latitude is not None:
            city_id = self._nearest.nearest_id(latitude, longitude, MAX_PLACEMENT_KM)
            if city_id is None:
                return f"no gazetteer city within {MAX_PLACEMENT_KM:.0f} km of {latitude},{longitude}"
            self._report.placed_by_coordinates += 1

        number = None
        if level and not level.isspace():
            number = self._levels.get(level)  # forum levels are few: each is read once
            if number is None:
                if len(self._levels) >= MEMO_LIMIT:
                    self._levels.clear()
                number = self._levels[level] = parse_number(level, int, 0, MAX_LEVEL)
            if number is None:
                return f"level must be a whole number from 0 to {MAX_LEVEL}, not {level.strip()!r}"
        joined_at = None
        if joined and not joined.isspace():
            joined_at = self._joined.get(joined)
            if joined_at is None:
                try:
                    joined_at = self._to_database(_parse_joined(joined))
                except ValueError:
                    return f"joined_at must be a date like 2013-05-20, not {joined.strip()!r}"
                if len(self._joined) >= MEMO_LIMIT:
                    self._joined.clear()  # stays small however long the file
                self._joined[joined] = joined_at
        return handle, email, city_id, latitude, longitude, number, joined_at, self._now, self._now

    def _note_ambiguous(self, name: str, resolution: Resolution, line: int) -> None:
        self._ambiguous[name] += 1
        self._first_ambiguous.setdefault(name, (line, resolution.label, resolution.passed_over))

    def ambiguous(self) -> dict[str, list]:
        return {name: [chosen, passed_over, self._ambiguous[name], line]
                for name, (line, chosen, passed_over) in self._first_ambiguous.items()}


def import_fans(
    raw: BinaryIO,
    strict: bool = False,
    on_reject: Callable[[int, str], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV of fans. Rows are upserted by email; a bad row is rejected with its line number
    (header = line 1) and the rest go in. With `strict`, any bad row means nothing is written.
    Everything is one transaction, so an interrupted import leaves the fan base as it was."""
    report = ImportReport(encoding=_sniff_encoding(raw))
    text = io.TextIOWrapper(
        io.BufferedReader(_CountingReader(raw, on_bytes), 1 << 20),
        encoding=report.encoding, errors="surrogateescape", newline="",
    )
    reader = csv.reader(text)
    position, width = _read_header(reader)
    try:
        _import_rows(reader, position, width, report, strict, on_reject)
    except BaseException:
        db.session.rollback()  # nothing half-written, whatever went wrong
        raise
    if strict and report.rejected:
        db.session.rollback()
        report.written = False
        report.imported = report.updated = 0
    else:
        db.session.commit()
    return report


def _read_header(reader: _CsvReader) -> tuple[dict[str, int], int]:
    """(column name → index, number of columns); a header the import cannot use refuses the file."""
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ImportAborted(1, f"the header cannot be read as CSV ({error})") from None
    if header is None:
        raise ImportAborted(1, "the file is empty; expected a header row with handle,email,city")
    columns = [name.strip().lower() for name in header]
    for required in REQUIRED_COLUMNS:
        if required not in columns:
            raise ImportAborted(1, f"missing column {required!r} (the header has: {', '.join(columns)})")
    if ("lat" in columns) != ("lon" in columns):
        raise ImportAborted(1, "lat and lon come together: the header has only one of them")
    position = {name: columns.index(name) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if name in columns}
    return position, len(columns)


def _import_rows(reader: _CsvReader, position: dict[str, int], width: int, report: ImportReport, strict: bool,
                 on_reject: Callable[[int, str], None] | None) -> None:
    connection = db.session.connection()
    fans = _FanRows(position, width, report.encoding, report, to_database(Fan.__table__.c.joined_at, connection))
    upsert = _Upsert(connection, [name for name in ("city", "lat", "level", "joined_at") if name in position])
    before = db.session.scalar(select(func.count()).select_from(Fan))
    batch: list[tuple] = []
    accepted = 0
    last_line = 1  # where the previous row ended: a quoted line break makes one row span lines
    # SQLite stores a batch per statement without the GIL, so a writer thread pays off; psycopg
    # binds row by row holding it, so there it would not. (Flask-SQLAlchemy and SQLAlchemy make
    # every SQLite connection usable from another thread.)
    with _BatchWriter(upsert, in_background=connection.dialect.name == "sqlite") as writer:
        try:
            for row in reader:
                line, last_line = last_line + 1, reader.line_num
                if len(row) == width:
                    values = fans.values(row, line)
                elif any(cell.strip() for cell in row):
                    values = f"expected {width} fields, found {len(row)}"
                else:
                    continue  # blank lines are not fans
                if isinstance(values, str):
                    report.rejected += 1
                    if on_reject:
                        on_reject(line, values)
                    continue
                accepted += 1
                batch.append(values)
                if len(batch) >= BATCH_SIZE:
                    if not (strict and report.rejected):  # a strict import with a bad row only checks the rest
                        writer.write(batch)
                    batch = []
        except csv.Error as error:
            raise ImportAborted(last_line + 1, f"the CSV breaks off here ({error}); is a quote left open?") from None
        if batch and not (strict and report.rejected):
            writer.write(batch)
    report.ambiguous = fans.ambiguous()
    report.imported = db.session.scalar(select(func.count()).select_from(Fan)) - before
    if not (strict and report.rejected):
        recount(connection)  # the per-city counts the ranking reads, in the import's transaction
    report.updated = accepted - report.imported  # a second row for an email updates the first


class _BatchWriter:
    """Writes batches from a thread of its own, so the next batch is read while the database
    (which runs without the GIL) stores this one. Until the writer is closed, the reading
    thread leaves the connection alone; at most two batches wait, so memory stays flat."""

    def __init__(self, upsert: "_Upsert", in_background: bool):
        self._upsert = upsert
        self._batches: queue.Queue[list[tuple] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fan-import-writer") if in_background else None

    def __enter__(self) -> "_BatchWriter":
        if self._thread:
            self._thread.start()
        return self

    def write(self, batch: list[tuple]) -> None:
        if self._thread is None:
            self._upsert.write(batch)
            return
        if self._error is not None:
            raise self._error
        self._batches.put(batch)

    def _run(self) -> None:
        while (batch := self._batches.get()) is not None:
            if self._error is None:  # after a failure only drain the queue; the reader raises it
                try:
                    self._upsert.write(batch)
                except BaseException as error:
                    self._error = error

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._thread:
            self._batches.put(None)
            self._thread.join()
        if self._error is not None and exc is None:
            raise self._error


class _Upsert:
    """INSERT … ON CONFLICT (email) DO UPDATE: a Core statement, compiled once for the import and
    run as its text with rows already in the database's form (`to_database`), because on the hot
    path of a million-row import SQLAlchemy's per-row parameter work costs twice the write
    (README, "Benchmarks": import_fans). A column the file does not have, or a cell left empty,
    keeps what the fan base already knows."""

    COLUMNS = ("handle", "email", "city_geonameid", "latitude", "longitude", "level", "joined_at", "created_at",
               "updated_at")

    def __init__(self, connection: Connection, present: list[str]):
        self._connection = connection
        fans = Fan.__table__
        # New coordinates also move the fan to the city nearest them.
        kept = {"city": ("city_geonameid",), "lat": ("city_geonameid", "latitude", "longitude"), "level": ("level",),
                "joined_at": ("joined_at",)}
        coalesced = dict.fromkeys(name for column in present for name in kept[column])

        def statement(rows: int) -> str:  # compiling grows with the rows: 0.3 s for 2 500, once an import
            insert = on_conflict_insert(connection.dialect.name)(fans).values(
                [{name: bindparam(f"{name}_{row}") for name in self.COLUMNS} for row in range(rows)])
            excluded = insert.excluded
            return driver_sql(insert.on_conflict_do_update(index_elements=["email"], set_={
                "handle": excluded.handle, "updated_at": excluded.updated_at,
                **{name: func.coalesce(excluded[name], fans.c[name]) for name in coalesced}}), connection)

        self._statement = statement
        self._one_row = statement(1)
        # SQLite upserts a whole batch in one statement twice as fast as row by row, and takes
        # a repeated email in it in order. PostgreSQL refuses that: it gets executemany.
        self._rows_per_statement = 1
        if connection.dialect.name == "sqlite":
            limit = connection.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self._rows_per_statement = max(1, min(BATCH_SIZE, limit // len(self.COLUMNS)))
        self._many_rows: str | None = None  # compiled when the first batch fills it

    def write(self, batch: list[tuple]) -> None:
        whole = len(batch) - len(batch) % self._rows_per_statement if self._rows_per_statement > 1 else 0
        if whole and self._many_rows is None:
            self._many_rows = self._statement(self._rows_per_statement)
        for start in range(0, whole, self._rows_per_statement):
            rows = batch[start : start + self._rows_per_statement]
            self._connection.exec_driver_sql(self._many_rows, tuple(chain.from_iterable(rows)))
        if whole < len(batch):
            self._connection.exec_driver_sql(self._one_row, batch[whole:])
