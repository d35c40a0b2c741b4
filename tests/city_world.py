"""A small constructed country for the planner dashboard and the schedule: five candidate cities far
apart whose order is worked out by hand, one of them with too few fans, and a town 107 km from
Chengdu whose fans count for Chengdu only once the radius reaches that far.

With PARAMETERS and the default 100 km radius (fans per 100 000 people):
Kunming 18.0, Chengdu 15.0, Lanzhou 8.0, Wuhan 5.0, then Harbin (2 fans: not eligible).
With a 150 km radius Chengdu has 30 + 10 fans: 20.0, and leads.
"""
from meetups.extensions import db
from meetups.fans.models import Fan
from meetups.planning.ranking import forget_cached_geometry

PARAMETERS = {"min_population": "100000", "min_fans": "15"}
QUERY = "min_population=100000&min_fans=15"
ORDER = ["Kunming", "Chengdu", "Lanzhou", "Wuhan", "Harbin"]


def build_world(make_city) -> dict:
    forget_cached_geometry()  # another test's constructed gazetteer may look the same
    cities = {
        "kunming": make_city("Kunming", 25.04, 102.71, 100_000, name_zh="昆明", province="Yunnan"),
        "chengdu": make_city("Chengdu", 30.66, 104.07, 200_000, name_zh="成都", province="Sichuan"),
        "lanzhou": make_city("Lanzhou", 36.06, 103.83, 300_000, name_zh="兰州", province="Gansu"),
        "wuhan": make_city("Wuhan", 30.59, 114.31, 400_000, name_zh="武汉", province="Hubei"),
        "harbin": make_city("Harbin", 45.75, 126.65, 200_000, name_zh="哈尔滨", province="Heilongjiang"),
        "mianyang": make_city("Mianyang", 31.47, 104.68, 50_000, name_zh="绵阳", province="Sichuan"),
    }
    fans = {"kunming": 18, "chengdu": 30, "lanzhou": 24, "wuhan": 20, "harbin": 2, "mianyang": 10}
    # Through the ORM, so that fans.counts keeps the per-city counts the ranking reads.
    db.session.add_all(Fan(handle=f"{key}-{number}", email=f"{key}-{number}@example.com",
                           city_geonameid=cities[key].geonameid)
                       for key, count in fans.items() for number in range(count))
    db.session.commit()
    return cities
