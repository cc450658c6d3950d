"""Staff mode: ``/staff`` (login, the staff chat page, logout) and ``/staff/api/*``.

The audience ``staff`` exists only here, and only for a logged-in, active account,
from an allowed network (``STAFF_NETWORKS``), within ``STAFF_IDLE_MINUTES`` of its last
request. Logins are rate limited; every login, failure, expiry and staff chat turn
(which FAQ ids, never the text) goes to the audit log.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from bot.chat import chat_limits, converse
from bot.security import limiter

bp = Blueprint("staff", __name__, url_prefix="/staff")

ERROR_LOGIN = "ユーザー名またはパスワードが正しくありません。"
ERROR_EXPIRED = "ログインの有効期限が切れました。もう一度ログインしてください。"
ERROR_NETWORK = "このネットワークからは職員用ページを利用できません。"
ERROR_FORBIDDEN = "この操作を行う権限がありません。"


def store():
    return current_app.extensions["staff"]


def _networks() -> list:
    spec = current_app.config["STAFF_NETWORKS"]
    return [ipaddress.ip_network(n.strip(), strict=False) for n in spec.split(",") if n.strip()]


def allowed_address() -> bool:
    networks = _networks()
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:  # an IPv4 client of a dual-stack ([::]) listener
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def current_staff() -> dict | None:
    """The logged-in staff member, or None: not logged in, idle too long, past the absolute
    limit (``STAFF_MAX_HOURS``), logged out elsewhere, or the account disabled."""
    info = session.get("staff")
    if not isinstance(info, dict) or "user" not in info:
        return None
    now = time.time()
    idle = now - float(info.get("last", 0))
    age = now - float(info.get("since", 0))
    if idle > current_app.config["STAFF_IDLE_MINUTES"] * 60 or age > current_app.config["STAFF_MAX_HOURS"] * 3600:
        store().audit(info["user"], "expired", remote_addr=request.remote_addr or "")
        session.pop("staff", None)
        return None
    account = store().user(info["user"])
    if account is None or account["epoch"] != info.get("epoch"):  # disabled, or a logout voided this cookie
        session.pop("staff", None)
        return None
    session["staff"] = info | {"role": account["role"], "last": now}
    return session["staff"]


def login_required(role: str = "staff", api: bool = False):
    """Only logged-in staff (``role="admin"``: admins only). Pages redirect to the login form; APIs get 401/403."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                if api:
                    return jsonify(error=ERROR_EXPIRED), 401
                return redirect(url_for("staff.index"))
            if role == "admin" and staff["role"] != "admin":
                if api:
                    return jsonify(error=ERROR_FORBIDDEN), 403
                abort(403)
            g.staff = staff
            return view(*args, **kwargs)
        return wrapper
    return decorate


@bp.before_request
def _network_guard():
    if not allowed_address():
        store().audit("-", "refused_ip", remote_addr=request.remote_addr or "")
        if request.path.startswith("/staff/api/"):
            return jsonify(error=ERROR_NETWORK), 403
        return render_template("staff_message.html", message=ERROR_NETWORK), 403
    return None


@bp.get("/")
def index():
    staff = current_staff()
    if staff is None:
        return render_template("staff_login.html", error=None)
    return render_template("staff_chat.html", staff=staff)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.post("/login")
@limiter.limit(_login_limit)  # per client address; over the limit → 429 with a polite message
def login():
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    account = store().verify(username, password) if username and password else None
    if account is None:
        store().audit(username or "-", "login_failed", remote_addr=request.remote_addr or "")
        return render_template("staff_login.html", error=ERROR_LOGIN), 401
    session.clear()  # a fresh session: no fixation, no resident conversation carried over
    session["sid"] = uuid.uuid4().hex
    now = time.time()
    session["staff"] = {"user": account["username"], "role": account["role"], "epoch": account["epoch"],
                        "since": now, "last": now}
    store().audit(account["username"], "login", remote_addr=request.remote_addr or "")
    return redirect(url_for("staff.index"))


@bp.post("/logout")
def logout():
    info = session.get("staff")
    if isinstance(info, dict) and info.get("user") and current_staff() is not None:
        store().end_sessions(info["user"])  # copies of this cookie stop working too
        store().audit(info["user"], "logout", remote_addr=request.remote_addr or "")
    session.clear()
    return redirect(url_for("staff.index"))


@bp.post("/api/chat")
@login_required(api=True)
@chat_limits
def chat():
    response = converse("staff")
    ids = [m[key] for m in g.get("chat_messages", []) for key in ("faq_id", "page_id") if m.get(key)]
    store().audit(g.staff["user"], "chat", ids, remote_addr=request.remote_addr or "")
    return response


@bp.post("/api/reset")
@login_required(api=True)
def reset():
    """「最初から」: a new conversation id, so Rasa starts the staff conversation afresh (no old slots),
    and no staff choices on offer (the id is shared, so a resident conversation restarts too)."""
    session["sid"] = uuid.uuid4().hex
    offered = session.get("offered") or {}
    offered.pop("staff", None)
    session["offered"] = offered
    return jsonify(ok=True)
