"""Security headers on every response: no sniffing, no framing, no referrer, a strict CSP.

One `after_request` hook, which Flask runs for every answer it makes: views, error handlers
(400, 404, 405, 413, 429, 500, ...), the OpenAPI document. The Content-Security-Policy depends on
what the answer is: HTML pages get PAGE_CONTENT_SECURITY_POLICY (scripts, styles, images and
fonts from the service itself only, never a CDN), everything else API_CONTENT_SECURITY_POLICY
(`default-src 'none'`: a JSON answer opened in a browser can load and run nothing). A view or
blueprint that needs another policy sets the Content-Security-Policy header on its response
itself; headers a response already carries are kept.

Why not flask-talisman: its defaults are made for a server-rendered site that terminates TLS
itself (a redirect to HTTPS, HSTS, session-cookie flags, a 'self' CSP for everything), which
would all have to be switched off for an API behind a TLS proxy, and it chooses a policy per
view, not per kind of response. What remains is a handful of constant headers: a hook of a few
lines says them more plainly than a library configured mostly to not do things.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

HTML = "text/html"
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def init_security_headers(app: Flask, settings: Mapping[str, Any]) -> None:
    """Add the security headers to every response of `app`."""
    api_policy = str(settings["API_CONTENT_SECURITY_POLICY"])
    page_policy = str(settings["PAGE_CONTENT_SECURITY_POLICY"])

    def add_security_headers(response: Response) -> Response:
        policy = page_policy if response.mimetype == HTML else api_policy
        response.headers.setdefault("Content-Security-Policy", policy)
        for name, value in COMMON_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.after_request(add_security_headers)
