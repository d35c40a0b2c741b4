"""Absolute links for emails, the API and the forum post, also outside a request (CLI, cron)."""
from flask import current_app, has_request_context, url_for

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values) -> str:
    """MEETUPS_BASE_URL when set (the address fans reach), else the address of this request."""
    base = (current_app.config["BASE_URL"] or "").rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values) if base else url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=base or DEFAULT_BASE_URL):
        return url_for(endpoint, _external=True, **values)
