"""Swagger UI's files, served from the installed swagger-ui-bundle package (no CDN)."""
import swagger_ui_bundle
from flask import Blueprint, send_from_directory

blp = Blueprint("api_docs_assets", __name__)


@blp.route("/api/docs/assets/<path:filename>")
def swagger_ui_asset(filename: str):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
