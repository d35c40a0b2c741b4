"""The home page, the language switch and a health check."""
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from ..accounts.access import public
from ..meetups.services import upcoming_meetups

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def home():
    return render_template("main/home.html", meetups=upcoming_meetups())


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    target = request.args.get("next") or url_for("main.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.home")
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.route("/api/health")
@public
def health():
    return jsonify({"status": "ok"})
