"""JSON API for planners: the city ranking (README, "Choosing the next city: the ranking")."""
from flask import Blueprint, jsonify, request

from ..accounts.access import api_roles_required
from ..accounts.models import Role
from .ranking import parameters_from, rank_cities

bp = Blueprint("planning_api", __name__, url_prefix="/api/cities")


@bp.route("/ranking")
@api_roles_required(Role.PLANNER)
def ranking():
    """As `cities rank --json`; query parameters as its options (radius_km, min_population,
    merge_km, min_fans, cooldown_weeks, by, top)."""
    return jsonify(rank_cities(parameters_from(request.args)).as_json())
