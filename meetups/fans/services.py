"""Importing the fan base from a forum CSV export: streamed, validated row by row, upserted by email."""
import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Callable

from sqlalchemy import func, select

from ..cities.services import CityMatcher, NearestCityIndex
from ..extensions import db
from ..timeutil import utcnow
from .models import Fan

REQUIRED_COLUMNS = ("handle", "email")
OPTIONAL_COLUMNS = ("city", "province", "lat", "lon", "level", "joined_at")
BATCH_SIZE = 5000
# A point farther than this from every gazetteer city is more likely a typo than a fan.
MAX_PLACEMENT_KM = 300.0
MAX_HANDLE_LENGTH = 100

_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+")
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
    head = raw.read(65536)
    raw.seek(0)
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:  # a character cut by the 64 KiB boundary
            return "utf-8-sig"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return "utf-8-sig"


def _parse_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _parse_joined(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("/", "-"))
    return moment if moment.tzinfo is None else moment.astimezone(tz=None).replace(tzinfo=None)


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
    header = next(reader, None)
    if header is None:
        raise ImportAborted(1, "the file is empty; expected a header row with handle,email,city")
    columns = [name_.strip().lower() for name_ in header]
    for required in REQUIRED_COLUMNS:
        if required not in columns:
            raise ImportAborted(1, f"missing column {required!r} (the header has: {', '.join(columns)})")
    if ("lat" in columns) != ("lon" in columns):
        raise ImportAborted(1, "lat and lon come together: the header has only one of them")
    position = {name_: columns.index(name_) for name_ in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if name_ in columns}
    width = len(columns)

    def reject(line: int, reason: str) -> None:
        report.rejected += 1
        if on_reject:
            on_reject(line, reason)

    matcher = CityMatcher()
    nearest = NearestCityIndex.from_database() if "lat" in position else None
    upsert = _upsert_statement([c for c in ("city", "lat", "level", "joined_at") if c in position])
    connection = db.session.connection()
    before = db.session.scalar(select(func.count()).select_from(Fan))

    i_handle, i_email = position["handle"], position["email"]
    i_city, i_province = position.get("city"), position.get("province")
    i_lat, i_lon = position.get("lat"), position.get("lon")
    i_level, i_joined = position.get("level"), position.get("joined_at")
    now = utcnow()
    batch: list[tuple] = []
    accepted = 0
    ambiguous: Counter = Counter()
    first_ambiguous: dict[str, tuple[int, str, list[str]]] = {}

    for row in reader:
        line = reader.line_num
        if len(row) != width:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not fans
            reject(line, f"expected {width} fields, found {len(row)}")
            continue
        if any(not cell.isascii() and _UNDECODABLE.search(cell) for cell in row):
            reject(line, f"not valid {report.encoding.removesuffix('-sig').upper()} text (wrong encoding? save the file as UTF-8)")
            continue
        handle = row[i_handle].strip()
        email = row[i_email].strip().lower()
        if not handle:
            reject(line, "handle is empty")
            continue
        if len(handle) > MAX_HANDLE_LENGTH:
            reject(line, f"handle is longer than {MAX_HANDLE_LENGTH} characters")
            continue
        if not email:
            reject(line, "email is empty")
            continue
        if len(email) > 254 or not _EMAIL.fullmatch(email):
            reject(line, f"bad email {email!r}")
            continue

        city_id = lat = lon = level = joined = None
        if i_lat is not None and (row[i_lat].strip() or row[i_lon].strip()):
            try:
                lat, lon = _parse_float(row[i_lat]), _parse_float(row[i_lon])
            except ValueError:
                lat = lon = None
            if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                reject(line, f"bad coordinates {row[i_lat].strip()!r},{row[i_lon].strip()!r} (lat -90..90, lon -180..180)")
                continue
        typed_city = row[i_city].strip() if i_city is not None else ""
        if typed_city:
            province = row[i_province] if i_province is not None else None
            resolution = matcher.resolve(typed_city, province)
            if resolution.geonameid is None:
                reject(line, resolution.error)
                continue
            city_id = resolution.geonameid
            if resolution.passed_over:
                name_ = typed_city.strip()
                ambiguous[name_] += 1
                first_ambiguous.setdefault(name_, (line, resolution.label, resolution.passed_over))
        elif lat is not None:
            placed = nearest.nearest(lat, lon, MAX_PLACEMENT_KM)
            if placed is None:
                reject(line, f"no gazetteer city within {MAX_PLACEMENT_KM:.0f} km of {lat},{lon}")
                continue
            city_id = placed[0]
            report.placed_by_coordinates += 1
        if i_level is not None and row[i_level].strip():
            try:
                level = int(row[i_level])
            except ValueError:
                reject(line, f"level must be a whole number, not {row[i_level].strip()!r}")
                continue
        if i_joined is not None and row[i_joined].strip():
            try:
                joined = _parse_joined(row[i_joined].strip())
            except ValueError:
                reject(line, f"joined_at must be a date like 2013-05-20, not {row[i_joined].strip()!r}")
                continue

        accepted += 1
        batch.append((handle, email, city_id, lat, lon, level, joined, now, now))
        if len(batch) >= BATCH_SIZE:
            connection.exec_driver_sql(upsert, batch)
            batch.clear()
    if batch:
        connection.exec_driver_sql(upsert, batch)

    for name_, rows in ambiguous.items():
        line, chosen, passed_over = first_ambiguous[name_]
        report.ambiguous[name_] = [chosen, passed_over, rows, line]
    after = db.session.scalar(select(func.count()).select_from(Fan))
    report.imported = after - before
    report.updated = accepted - report.imported  # a second row for an email updates the first
    if strict and report.rejected:
        db.session.rollback()
        report.written = False
        report.imported = report.updated = 0
    else:
        db.session.commit()
    return report


def _upsert_statement(present: list[str]) -> str:
    """INSERT … ON CONFLICT (email) DO UPDATE, in the driver's own parameter style: the hot path
    of a million-row import goes straight to the driver's executemany. A column the file does
    not have, or a cell left empty, keeps what the fan base already knows."""
    columns = ("handle", "email", "city_geonameid", "latitude", "longitude", "level", "joined_at", "created_at", "updated_at")
    updates = ["handle = excluded.handle", "updated_at = excluded.updated_at"]
    kept = {"city": ("city_geonameid",), "lat": ("latitude", "longitude"), "level": ("level",), "joined_at": ("joined_at",)}
    for column in present:
        updates += [f"{name_} = COALESCE(excluded.{name_}, fans.{name_})" for name_ in kept[column]]
    style = db.engine.dialect.paramstyle
    marker = "?" if style == "qmark" else "%s"
    return (
        f"INSERT INTO fans ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))}) "
        f"ON CONFLICT (email) DO UPDATE SET {', '.join(updates)}"
    )
