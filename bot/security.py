"""Gateway hardening, applied by the app factory (OWASP basics, with the field's libraries):

- security headers with Flask-Talisman: a CSP without ``unsafe-inline`` (``frame-ancestors``
  limited to the configured homepage origins), ``X-Content-Type-Options``, ``Referrer-Policy``;
- CSRF: Flask-WTF's ``CSRFProtect`` on every form and on the staff API (token in a header);
  the resident JSON API is protected by requiring JSON and a same-site or allow-listed ``Origin``;
- CORS (Flask-CORS) only for the configured homepage origins, only on ``/api/*``;
- rate limits (Flask-Limiter) per session and per IP on the chat, and on staff login,
  answered with a polite Japanese message;
- the session cookie: HttpOnly, SameSite=Lax, and Secure whenever the request came over https.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

ERROR_RATE_LIMITED = "短時間に多くのメッセージが送信されました。少し時間をおいてから、もう一度お試しください。"
ERROR_TOO_LARGE = "送信されたデータが大きすぎます。"
ERROR_CSRF = "ページの有効期限が切れました。ページを再読み込みしてから、もう一度お試しください。"
ERROR_ORIGIN = "このページからは送信できません。"


def origins(value: str) -> list[str]:
    return [o.strip().rstrip("/") for o in (value or "").split(",") if o.strip()]


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure when the request arrived over https (directly or,
    with ``TRUSTED_PROXIES``, as reported by the proxy), and always when configured."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def session_key() -> str:
    """Rate-limit key of the conversation: the signed session id, created here on a conversation's
    first message so that new conversations from one address (carrier NAT) never share a bucket;
    a client that drops its cookie is a new conversation each time, bounded by the per-IP limit."""
    if "sid" not in session:
        session["sid"] = uuid.uuid4().hex
    return "sid:" + session["sid"]


def same_origin_or_allowed() -> bool:
    """For the JSON chat API: a cross-site page may not post (CSRF); the homepage origins may (CORS)."""
    origin = request.headers.get("Origin")
    if not origin:
        referer = request.headers.get("Referer")
        if not referer:
            return True  # not a browser cross-site request (curl, server-to-server)
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    own = request.host_url.rstrip("/")
    return origin.rstrip("/") in [own, *origins(current_app.config["HOMEPAGE_ORIGINS"])]


def install(app: Flask) -> None:
    config = app.config
    if config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config["TRUSTED_PROXIES"], x_proto=config["TRUSTED_PROXIES"],
                                x_host=config["TRUSTED_PROXIES"])
    app.session_interface = HttpsAwareSessionInterface()
    config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                  WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
                  WTF_CSRF_SSL_STRICT=False,  # Origin/Referer are checked by same_origin_or_allowed
                  RATELIMIT_STORAGE_URI=config["RATELIMIT_STORAGE"], RATELIMIT_HEADERS_ENABLED=True)
    homepage = origins(config["HOMEPAGE_ORIGINS"])
    Talisman(
        app,
        force_https=False,  # TLS ends at the reverse proxy; cookies follow the request scheme
        session_cookie_secure=bool(config.get("SESSION_COOKIE_SECURE")),
        content_security_policy={
            "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": ["'self'", "data:"],
            "connect-src": "'self'", "object-src": "'none'", "base-uri": "'self'", "form-action": "'self'",
            "frame-ancestors": ["'self'", *homepage],
        },
        frame_options=None,  # frame-ancestors above supersedes X-Frame-Options
        referrer_policy="strict-origin-when-cross-origin",
        strict_transport_security=False,  # set at the TLS terminator
    )
    if homepage:
        CORS(app, resources={r"/api/*": {"origins": homepage}}, supports_credentials=True)
    csrf.init_app(app)
    limiter.init_app(app)

    @app.errorhandler(429)
    def _rate_limited(_error):
        return jsonify(error=ERROR_RATE_LIMITED), 429

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):
        return jsonify(error=ERROR_TOO_LARGE), 413

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return jsonify(error=ERROR_CSRF), 400
