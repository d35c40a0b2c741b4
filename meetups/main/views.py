"""The home page, the language switch and a health check."""
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from ..accounts.access import public
from ..cities.remembered import remembered_city
from ..registration.views import meetup_listing
from ..shared.redirects import local_path
from ..shared.timeutil import utcnow

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def home():
    city = remembered_city()
    meetups, counts, distances = meetup_listing(city)
    return render_template("main/home.html", meetups=meetups, counts=counts, distances=distances, city=city,
                           now=utcnow())


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    # The page's own ?lang= would outrank the new cookie, so it is dropped from the way back.
    response = redirect(local_path(request.args.get("next"), url_for("main.home"), drop_params=("lang",)))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.route("/api/health")
@public
def health():
    return jsonify({"status": "ok"})
