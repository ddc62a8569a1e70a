"""The Blueprint every API module uses: flask-smorest's, reading any body as JSON."""
import flask_smorest
from marshmallow import ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser

from backend.validation import lone_surrogate_errors


class JsonBodyParser(FlaskParser):
    """Parse a non-empty body as JSON whatever its Content-Type.

    WatermelonDB's sync client posts JSON without a Content-Type, and a form-encoded or plain
    body should get a clear 400 rather than a list of "missing" fields.
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
        return doc
