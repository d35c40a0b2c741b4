"""The fan's pages for asking for a meetup in their city: the form, "check your email", and the
private link's page, where a button (not the link itself: mail scanners open links) confirms the
request or withdraws it."""
from flask import Blueprint, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..accounts.access import public
from ..cities.models import City
from ..cities.remembered import remembered_city
from ..cities.services import MAX_TYPED_CITY, city_suggestions
from ..errors import DomainError
from ..extensions import db
from ..shared.forms import EmptyForm, public_write, show_on_form
from ..shared.private_links import keep_private
from .forms import AskForm
from .services import ask_for_city, confirm_request, request_for_token, withdraw_request

bp = Blueprint("city_requests", __name__)

ASKED = "city_request_asked"  # the session key that carries the outcome to the "check your email" page


@bp.route("/cities/ask", methods=["GET", "POST"])
@public_write
@public
def ask():
    form = AskForm()
    status, problem = 200, None
    locale = str(get_locale())
    if request.method == "POST":
        # Checks the CSRF token only (this view is exempt from the global check, see public_write).
        if not form.validate_on_submit():
            status = 400
        else:
            try:
                outcome = ask_for_city(city=form.city.data, email=form.email.data, name=form.name.data, locale=locale)
            except DomainError as error:
                status, problem = error.status, error.message
                show_on_form(form, error, flash_rest=False)
            else:
                session[ASKED] = {"status": outcome.status, "email": outcome.city_request.email,
                                  "city": outcome.city_request.city_geonameid}
                return redirect(url_for("city_requests.sent"))
    else:
        city = remembered_city()
        typed = request.args.get("city", "").strip()[:MAX_TYPED_CITY]
        form.city.data = typed or (city.display_name(locale) if city else "")
    return render_template("city_requests/ask.html", form=form, problem=problem,
                           city_names=city_suggestions(locale)), status


@bp.route("/cities/ask/sent")
@public
def sent():
    asked = session.get(ASKED)
    city = db.session.get(City, asked["city"]) if asked else None
    if city is None:  # opened without asking first
        return redirect(url_for("city_requests.ask"))
    return render_template("city_requests/sent.html", asked=asked, city=city)


@bp.route("/cities/requests/<token>")
@public
def request_page(token: str):
    city_request = request_for_token(token)  # DomainError not_found → the 404 page
    return keep_private(make_response(render_template(
        "city_requests/request.html", city_request=city_request, token=token, form=EmptyForm())))


@bp.route("/cities/requests/<token>/confirm", methods=["POST"])
@public_write
@public
def confirm(token: str):
    return _press(token, confirm_request, lambda done: _(
        "Thank you! Your request for a meetup in %(city)s counts.", city=done.city.display_name(str(get_locale()))))


@bp.route("/cities/requests/<token>/withdraw", methods=["POST"])
@public_write
@public
def withdraw(token: str):
    return _press(token, withdraw_request, lambda done: _("Your request is withdrawn: it no longer counts."))


def _press(token: str, service, message):
    """A button on the link's page: run the service (a bad token → the 404 page) and say what it did."""
    if EmptyForm().validate_on_submit():
        flash(message(service(token)), "success")
    else:
        flash(_("This form has expired. Please try again."), "error")
    return redirect(url_for("city_requests.request_page", token=token))
