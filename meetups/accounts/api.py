"""JSON API for accounts: who am I."""
from flask import Blueprint, g, jsonify

from .access import api_roles_required

bp = Blueprint("accounts_api", __name__, url_prefix="/api")


@bp.route("/whoami")
@api_roles_required()
def whoami():
    return jsonify({"email": g.api_user.email, "name": g.api_user.name, "role": g.api_user.role})
