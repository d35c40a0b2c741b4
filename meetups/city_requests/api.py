"""JSON API for fans: asking for a meetup in their city (README, "JSON API")."""
from flask import Blueprint, jsonify
from flask_babel import get_locale

from ..accounts.access import public
from ..shared.forms import public_write
from ..shared.json_input import text_fields
from .services import ask_for_city

bp = Blueprint("city_requests_api", __name__, url_prefix="/api")


@bp.route("/cities/requests", methods=["POST"])
@public_write
@public
def ask():
    """202: nothing counts until the fan confirms from the emailed link."""
    outcome = ask_for_city(locale=str(get_locale() or "en"), **text_fields(("city", "email", "name")))
    city = outcome.city_request.city
    return jsonify({"status": outcome.status, "city": city.name, "city_zh": city.name_zh}), 202
