"""How a typed city or province name becomes a lookup key, and China's provinces by GeoNames code."""
import re
import unicodedata

# ASCII and typographic apostrophes and primes all mean the same thing in "Xi'an".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'", "\u2032": "'"})
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def name_key(name: str) -> str:
    """`" Xi’AN "` → `"xi'an"`; full-width forms fold to ASCII (NFKC)."""
    folded = unicodedata.normalize("NFKC", name).translate(_APOSTROPHES)
    return _SPACES.sub(" ", folded).strip().casefold()


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def chinese_name(alternate_names: list[str]) -> str | None:
    """The everyday Chinese name among GeoNames' alternates: 成都 rather than 天府 or 成都市."""
    chinese = [name for name in alternate_names if has_cjk(name)]
    if not chinese:
        return None
    known = set(chinese)
    for name in chinese:
        if name + "市" in known:
            return name
    return min(chinese, key=lambda name: (len(name) < 2, len(name)))


# GeoNames admin1 codes for China: English name, Chinese short name, Chinese full name.
CHINA_PROVINCES: dict[str, tuple[str, str, str]] = {
    "01": ("Anhui", "安徽", "安徽省"),
    "02": ("Zhejiang", "浙江", "浙江省"),
    "03": ("Jiangxi", "江西", "江西省"),
    "04": ("Jiangsu", "江苏", "江苏省"),
    "05": ("Jilin", "吉林", "吉林省"),
    "06": ("Qinghai", "青海", "青海省"),
    "07": ("Fujian", "福建", "福建省"),
    "08": ("Heilongjiang", "黑龙江", "黑龙江省"),
    "09": ("Henan", "河南", "河南省"),
    "10": ("Hebei", "河北", "河北省"),
    "11": ("Hunan", "湖南", "湖南省"),
    "12": ("Hubei", "湖北", "湖北省"),
    "13": ("Xinjiang", "新疆", "新疆维吾尔自治区"),
    "14": ("Tibet", "西藏", "西藏自治区"),
    "15": ("Gansu", "甘肃", "甘肃省"),
    "16": ("Guangxi", "广西", "广西壮族自治区"),
    "18": ("Guizhou", "贵州", "贵州省"),
    "19": ("Liaoning", "辽宁", "辽宁省"),
    "20": ("Inner Mongolia", "内蒙古", "内蒙古自治区"),
    "21": ("Ningxia", "宁夏", "宁夏回族自治区"),
    "22": ("Beijing", "北京", "北京市"),
    "23": ("Shanghai", "上海", "上海市"),
    "24": ("Shanxi", "山西", "山西省"),
    "25": ("Shandong", "山东", "山东省"),
    "26": ("Shaanxi", "陕西", "陕西省"),
    "28": ("Tianjin", "天津", "天津市"),
    "29": ("Yunnan", "云南", "云南省"),
    "30": ("Guangdong", "广东", "广东省"),
    "31": ("Hainan", "海南", "海南省"),
    "32": ("Sichuan", "四川", "四川省"),
    "33": ("Chongqing", "重庆", "重庆市"),
}

_PROVINCE_SUFFIXES = (" province", " sheng", " shi", " autonomous region", " municipality")


def province_keys(province: str | None, province_zh: str | None, admin1_code: str) -> set[str]:
    """Every spelling a CSV might use for a city's province: Jiangsu, jiangsu province, 江苏, 江苏省."""
    keys = {name_key(admin1_code)} if admin1_code else set()
    for name in (province, province_zh):
        if name:
            keys.add(name_key(name))
    entry = next((e for e in CHINA_PROVINCES.values() if e[0] == province), None)
    if entry:
        keys.update(name_key(name) for name in entry[1:])
    return keys


def province_key(typed: str) -> str:
    """`"Jiangsu Province"` → `"jiangsu"`; Chinese full names are matched as they are."""
    key = name_key(typed)
    for suffix in _PROVINCE_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def local_name(place, locale: str) -> str:
    """A city (or a ranking row: anything with `name` and `name_zh`) as a reader of `locale` calls it."""
    return (locale.startswith("zh") and place.name_zh) or place.name


def local_province(place, locale: str) -> str:
    """Its province likewise (empty when unknown)."""
    return (locale.startswith("zh") and getattr(place, "province_zh", None)) or place.province or ""
