"""Where a `next=` parameter may send the browser: only to a path on this site."""
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def local_path(target: str | None, fallback: str, drop_params: tuple[str, ...] = ()) -> str:
    """`target` if it is a path on this site, else `fallback`. Control characters and backslashes
    are refused outright: browsers drop tabs and read `\\` as `/`, turning `/\\t/evil` into `//evil`."""
    if not target or any(ch <= " " or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if drop_params:
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop_params])
        target = urlunsplit(("", "", parts.path, query, parts.fragment))
    return target
