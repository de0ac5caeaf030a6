"""Error pages for browsers, and short error fragments for htmx requests."""

from __future__ import annotations

from quart import Response, render_template, request
from werkzeug.exceptions import HTTPException

from app.i18n import gettext as _


def _message(error: HTTPException) -> str:
    defaults = {
        400: _("That request could not be understood."),
        401: _("Please sign in again."),
        403: _("You are not allowed to do that."),
        404: _("There is nothing here, or you are not a member of it."),
        405: _("That action is not available here."),
        413: _("That is too large to send."),
        422: _("Please check what you entered."),
        429: _("You are going too fast. Please wait a moment."),
    }
    described = error.description and error.description != type(error).description
    own = error.description if described else None
    return own or defaults.get(error.code or 500, _("Something went wrong."))


async def render_error(error: HTTPException) -> Response:
    code = error.code or 500
    message = _message(error)
    if request.path == "/sse" or request.accept_mimetypes.best == "text/event-stream":
        response = Response(message + "\n", status=code, mimetype="text/plain")
    elif "HX-Request" in request.headers:
        body = await render_template("errors/_flash.html", code=code, message=message)
        response = Response(body, status=code, mimetype="text/html")
    else:
        body = await render_template("errors/page.html", code=code, message=message)
        response = Response(body, status=code, mimetype="text/html")
    for key, value in error.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response
