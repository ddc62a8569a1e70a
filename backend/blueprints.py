"""The Blueprint every API module uses: flask-smorest's, reading JSON bodies sent as application/json."""
import flask_smorest
from flask_babel import gettext
from flask_smorest import abort
from marshmallow import ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser

from backend.validation import lone_surrogate_errors

# Endpoints that read a JSON body whatever its Content-Type (Blueprint.any_content_type).
ANY_CONTENT_TYPE: set[str] = set()


class JsonBodyParser(FlaskParser):
    """Parse a non-empty body as JSON, sent as application/json (415 otherwise).

    A web page can post a text/plain or form body to any site without a CORS preflight, so a route that
    read any body as JSON could be called cross-site (a sign-in attempt, a write with a stolen token in
    a form). Only the sync push reads any Content-Type: WatermelonDB's client posts JSON without one.
    A body that is not JSON gets a clear 400 rather than a list of "missing" fields.
    """

    def load_json(self, req, schema):
        """A lone surrogate in any string is a 422 naming where, before a schema hands it on (backend.validation)."""
        body = super().load_json(req, schema)
        if errors := lone_surrogate_errors(req.get_data(cache=True), body, getattr(schema, "name_place", None)):
            raise ValidationError(errors)
        return body

    def _raw_load_json(self, req):
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        if not (req.is_json or req.endpoint in ANY_CONTENT_TYPE):
            abort(415, message=gettext("Send the body as JSON, with 'Content-Type: application/json'."),
                  errors={"Content-Type": [gettext("application/json expected, not %(given)s.",
                                                   given=req.mimetype or gettext("none"))]})
        try:
            return core.parse_json(data)
        except RecursionError as error:  # arrays or objects nested thousands deep
            return self._handle_invalid_json_error(ValueError(f"JSON nested too deeply: {type(error).__name__}"), req)


class Blueprint(flask_smorest.Blueprint):
    """Also documents the errors that no view raises itself: 401 and the malformed body's 400."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_common_errors_doc)

    def any_content_type(self, view):
        """This route reads its JSON body whatever the Content-Type (the sync push: its client sends none)."""
        ANY_CONTENT_TYPE.add(f"{self.name}.{view.__name__}")
        return view

    def arguments(self, schema, *args, **kwargs):
        """A schema class is made an instance once, here: webargs would build one per request."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    @staticmethod
    def _prepare_common_errors_doc(doc, doc_info, **kwargs):
        responses = doc.setdefault("responses", {})
        if doc_info.get("manual_doc", {}).get("security") != []:
            responses.setdefault(401, "UNAUTHORIZED")
        if "requestBody" in doc:
            responses.setdefault(400, "BAD_REQUEST")
            responses.setdefault(415, "UNSUPPORTED_MEDIA_TYPE")
        return doc
