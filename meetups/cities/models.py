"""Gazetteer tables: one row per city, and every name a city is known by."""
from sqlalchemy import Float, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class City(db.Model):
    __tablename__ = "cities"

    # GeoNames ids are stable, so reloading the gazetteer updates rows in place.
    geonameid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(100))
    country_code: Mapped[str] = mapped_column(String(2), index=True)
    admin1_code: Mapped[str] = mapped_column(String(20), default="")
    province: Mapped[str | None] = mapped_column(String(100))
    province_zh: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer, default=0, index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")

    names: Mapped[list["CityName"]] = relationship(
        back_populates="city", cascade="all, delete-orphan", passive_deletes=True
    )

    def display_name(self, locale: str = "en") -> str:
        if locale.startswith("zh") and self.name_zh:
            return self.name_zh
        return self.name

    def __repr__(self) -> str:
        return f"<City {self.geonameid} {self.name}>"


class CityName(db.Model):
    """A normalised name (see cities.names.name_key) under which a city can be found."""

    __tablename__ = "city_names"
    __table_args__ = (UniqueConstraint("city_geonameid", "key", name="uq_city_names_city_key"),)

    # Lower rank wins: 0 is the city's English or Chinese name, 1 any other known name.
    PRIMARY = 0
    ALTERNATE = 1

    id: Mapped[int] = mapped_column(primary_key=True)
    city_geonameid: Mapped[int] = mapped_column(
        ForeignKey("cities.geonameid", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(200), index=True)
    rank: Mapped[int] = mapped_column(SmallInteger, default=ALTERNATE)

    city: Mapped[City] = relationship(back_populates="names")
