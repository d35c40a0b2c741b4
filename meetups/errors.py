"""DomainError, raised by services, and the handlers that turn errors into pages or JSON."""
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain refused the request; `code` is stable for API clients."""

    status = 422

    def __init__(self, code: str, message: str, fields: dict | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        if status is not None:
            self.status = status


def json_error(code: str, message: str, status: int, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def wants_json() -> bool:
    return request.path.startswith("/api/")


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if wants_json():
            return json_error(error.code, error.message, error.status, error.fields)
        return render_template("error.html", status=error.status, message=error.message), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        # What the error says besides its page (Retry-After of a 429, Allow of a 405) stays.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        if wants_json():
            body, _status = json_error(HTTP_CODES.get(status, "http_error"), error.description, status)
            return body, status, headers
        template = "404.html" if status == 404 else "error.html"
        return render_template(template, status=status, message=error.description), status, headers

    @app.errorhandler(500)
    def server_error(error):
        if wants_json():
            return json_error("server_error", "Something went wrong on our side.", 500)
        return render_template("500.html"), 500
