"""Security headers on every response; the dashboard sets its own stricter page policy first.

JSON is never framed, sniffed, cached or allowed to load anything; the Swagger UI page needs its
inline start-up script; HTTPS is pinned (HSTS) when APP_ENV=production.
"""
from flask import Flask, Response

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def install(app: Flask) -> None:
    production = app.config["APP_ENV"] == "production"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in COMMON.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy",
                                    JSON_POLICY if response.mimetype != "text/html" else DOCS_POLICY)
        if response.mimetype == "application/json":
            response.headers.setdefault("Cache-Control", "no-store")  # children's health data: no caches
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
