"""Sign in and out, the staff home, and the admin's account list."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..errors import DomainError
from ..shared.forms import EmptyForm, public_write, show_on_form
from ..shared.redirects import local_path
from .access import public, roles_required
from .forms import ROLE_LABELS, CreateUserForm, LoginForm
from .models import Role
from .services import authenticate, create_user, list_users

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public_write
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.staff_home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong email or password."))
        else:
            login_user(user, remember=form.remember.data)
            flash(_("Signed in as %(email)s.", email=user.email), "success")
            return redirect(local_path(request.args.get("next"), url_for("accounts.staff_home")))
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 422


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if EmptyForm().validate_on_submit():
        logout_user()
        flash(_("Signed out."), "success")
    return redirect(url_for("main.home"))


@bp.route("/staff")
@roles_required()
def staff_home():
    return render_template("accounts/staff_home.html")


@bp.route("/admin/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.role.data, form.password.data, form.name.data or "")
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(_("Account %(email)s created with the role %(role)s.", email=user.email,
                    role=ROLE_LABELS[Role(user.role)]), "success")
            return redirect(url_for("accounts.users"))
    status = 422 if form.errors else 200
    return render_template("accounts/users.html", form=form, users=list_users()), status
