"""The Blueprint every API module uses: flask-smorest's, reading any body as JSON."""
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser


class JsonBodyParser(FlaskParser):
    """Parse a non-empty body as JSON whatever its Content-Type.

    WatermelonDB's sync client posts JSON without a Content-Type, and a form-encoded or plain
    body should get a clear 400 rather than a list of "missing" fields.
    """

    def _raw_load_json(self, req):
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return core.parse_json(data)
        except RecursionError as error:  # arrays or objects nested thousands deep
            return self._handle_invalid_json_error(ValueError(f"JSON nested too deeply: {type(error).__name__}"), req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonBodyParser()
