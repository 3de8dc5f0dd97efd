"""GET /api/v1/openapi.json: the hand-written OpenAPI 3.1 document, with no authentication.

The document lives next to the package (``scim_server/openapi.json``) and is read once.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint
from flask import Response

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi.json"

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


@cache
def _document() -> bytes:
    return DOCUMENT.read_bytes()


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return Response(_document(), mimetype="application/json")
