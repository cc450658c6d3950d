"""The maintainers' admin pages (``/admin``, role ``admin`` only).

* ``/admin/`` — dashboard: components, crawls, live FAQ versions, open unanswered questions;
* ``/admin/faq`` — upload a FAQ CSV, see the check report and the diff, then publish or cancel;
* ``/admin/versions`` — published versions per audience, rollback;
* ``/admin/unanswered`` — the open unanswered queue, a prefilled new FAQ row, 「対応済み」.

An uploaded file is kept server-side until it is published or cancelled: under
``<INDEX_ROOT>/../uploads/<token>.csv`` (mode 0600) with a ``<token>.json`` beside it
(audience, file name, uploader). The browser only ever holds the random token, which is
checked against :data:`TOKEN` before any path is built from it; a publish claims the file
by renaming it first, so a double submit cannot publish twice. Every form carries a CSRF
token (Flask-WTF, app-wide); pages are plain HTML under the CSP (no inline script/style).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from bot import publishing
from bot.convlog import Unanswered
from bot.crawling import store_path
from bot.health import _http_ok
from bot.privacy import mask
from bot.publishing import PublishError
from bot.settings import resolve
from bot.staff import allowed_address, current_staff, login_required
from bot.staff import store as staff_store
from retrieval.faq import COLUMNS, load_faq_paths
from retrieval.faq_check import LABELS as COLUMN_LABELS
from retrieval.faq_check import MAX_FILE_BYTES, check_faq_bytes
from retrieval.versions import VersionError

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIENCES = ("resident", "staff")
AUDIENCE_LABELS = {"resident": "住民向け", "staff": "職員向け"}
ID_PREFIX = {"resident": "R", "staff": "S"}
REASON_LABELS = {"unknown": "分からない", "none_of_these": "どれにも当てはまらない", "not_helpful": "役に立たなかった"}
#: an upload token: 32 lowercase hex digits, nothing else ever reaches the file system
TOKEN = re.compile(r"[0-9a-f]{32}")
VERSION_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")
UPLOAD_TTL_SECONDS = 24 * 3600
#: room for the multipart envelope around a file of the maximum size
MULTIPART_SLACK = 1024 * 1024
SHOW_ROWS = 500  # report rows / diff ids shown on one page
JST = ZoneInfo("Asia/Tokyo")
#: one publish or rollback at a time in this process (a build's staging directory is shared)
_publish_lock = threading.Lock()

ERROR_NETWORK = "このネットワークからは管理者ページを利用できません。"
ERROR_FORBIDDEN = "このページは管理者のアカウントでのみ利用できます。"
ERROR_CSRF = "ページの有効期限が切れました。ページを再読み込みしてから、もう一度お試しください。"
ERROR_TOKEN = ("アップロードされたファイルが見つかりません。すでに公開または取り消し済みか、時間が経って削除されました。"
               "「版の履歴」をご確認のうえ、必要ならもう一度アップロードしてください。")
ERROR_NO_FILE = "CSVファイルを選んでください。"
ERROR_BAD_REQUEST = "送信された内容が正しくありません。ページを再読み込みしてから、もう一度お試しください。"


def max_upload_bytes() -> int:
    return int(current_app.config.get("ADMIN_UPLOAD_MAX_BYTES") or MAX_FILE_BYTES)


# --- guards and errors --------------------------------------------------------------------

@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, _values: dict | None) -> None:
    """Raise the body limit (16 KB app-wide, for JSON chat) for the CSV upload, for admins only.

    URL value preprocessors run before every ``before_request`` function, so the raised
    limit is in place when CSRFProtect reads the form; an anonymous or staff-role client
    still gets the app-wide limit.
    """
    if endpoint == "admin.faq_check" and allowed_address():
        staff = current_staff()
        if staff is not None and staff.get("role") == "admin":
            request.max_content_length = max_upload_bytes() + MULTIPART_SLACK


@bp.before_request
def _network_guard():
    if not allowed_address():
        staff_store().audit("-", "refused_ip", remote_addr=request.remote_addr or "")
        return _message(ERROR_NETWORK, 403)
    return None


def _message(message: str, status: int, title: str = "お知らせ"):
    return render_template("admin_message.html", message=message, title=title,
                           staff=g.get("staff") or current_staff()), status


@bp.errorhandler(CSRFError)
def _csrf_error(_error):
    return _message(ERROR_CSRF, 400, "送信できませんでした")


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    limit = max_upload_bytes() // (1024 * 1024)
    return _message(f"ファイルが大きすぎます。{limit} MB 以下のCSVファイルにしてください。", 413, "送信できませんでした")


@bp.errorhandler(403)
def _forbidden(_error):
    return _message(ERROR_FORBIDDEN, 403, "権限がありません")


class Refused(BadRequest):
    """A 400 whose (Japanese) description is shown on the page."""


@bp.errorhandler(400)
def _bad_request(error: HTTPException):
    return _message(error.description if isinstance(error, Refused) else ERROR_BAD_REQUEST, 400,
                    "送信できませんでした")


def _bad(message: str = ERROR_BAD_REQUEST) -> NoReturn:
    raise Refused(message)


def _audience(value: str | None) -> str:
    if value not in AUDIENCES:
        _bad()
    return value


# --- helpers ------------------------------------------------------------------------------

def _settings():
    return current_app.config


def _encoder():
    """The encoder for publishing: ``ENCODER_OBJECT`` (tests), else ``ENCODER`` loaded once on the
    first publish and kept, so a second publish does not load the model again (called under
    ``_publish_lock``)."""
    if current_app.config.get("ENCODER_OBJECT") is not None:
        return current_app.config["ENCODER_OBJECT"]
    if "encoder" not in current_app.extensions:
        from retrieval.encoders import load_encoder

        current_app.extensions["encoder"] = load_encoder(current_app.config["ENCODER"])
    return current_app.extensions["encoder"]


def _convlog():
    return current_app.extensions["convlog"]


def _audit(action: str, details: list[str]) -> None:
    staff_store().audit(g.staff["user"], action, details, remote_addr=request.remote_addr or "")


def to_jst(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(JST)


@bp.app_template_filter("jst")
def _jst_filter(value) -> str:
    moment = to_jst(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


@bp.context_processor
def _labels() -> dict:
    return {"AUDIENCES": AUDIENCES, "AUDIENCE_LABELS": AUDIENCE_LABELS, "REASON_LABELS": REASON_LABELS,
            "COLUMN_LABELS": COLUMN_LABELS}


# --- dashboard ----------------------------------------------------------------------------

def _index_entries(directory: Path) -> int | None:
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return len(manifest.get("entry_hashes", {}))


def component_status() -> list[dict]:
    """The same checks as ``/healthz``, with Japanese labels (Rasa and the action server checked in parallel)."""
    config = _settings()
    root = resolve(config["INDEX_ROOT"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        rasa = pool.submit(current_app.extensions["rasa"].healthy)
        actions = pool.submit(_http_ok, config["ACTION_SERVER_URL"].rstrip("/") + "/health")
        rasa_ok, actions_ok = bool(rasa.result()), bool(actions.result())
    rows = [
        {"label": "ゲートウェイ（この画面）", "ok": True, "detail": "動作しています"},
        {"label": "Rasa（対話エンジン）", "ok": rasa_ok, "detail": "応答あり" if rasa_ok else "応答がありません"},
        {"label": "アクションサーバー", "ok": actions_ok, "detail": "応答あり" if actions_ok else "応答がありません"},
    ]
    for audience in AUDIENCES:
        entries = _index_entries(root / audience)
        rows.append({"label": f"FAQ索引（{AUDIENCE_LABELS[audience]}）", "ok": entries is not None,
                     "detail": f"{entries}件" if entries is not None else "まだ作成されていません"})
    return rows


def crawl_status(audience: str) -> dict:
    """Pages, passages and dead links of the audience's last crawl; ``crawled`` False when never crawled."""
    from retrieval.crawler.store import PageStore, pages_table, passages_table

    config = _settings()
    path = store_path(config, audience)
    status = {"audience": audience, "crawled": False, "pages": 0, "passages": 0, "dead_links": 0,
              "finished": None, "state": None, "indexed": _index_entries(resolve(config["INDEX_ROOT"]) / f"{audience}-pages")}
    if not path.exists():
        return status
    try:
        store = PageStore(path)
    except Exception:  # an unreadable or foreign file: report it, never break the dashboard
        log.exception("admin: cannot read the page store %s", path)
        status["state"] = "error"
        return status
    try:
        with store.engine.connect() as conn:
            status["pages"] = conn.execute(select(func.count()).select_from(pages_table)).scalar() or 0
            status["passages"] = conn.execute(select(func.count()).select_from(passages_table)).scalar() or 0
        status["dead_links"] = len({d.target_url for d in store.dead_links()})
        status["state"] = store.meta("crawl_state")
        status["finished"] = store.meta("crawl_finished")
        status["started"] = store.meta("crawl_started")
        status["crawled"] = bool(status["state"] or status["pages"])
    finally:
        store.close()
    return status


CRAWL_STATES = {"complete": "完了", "truncated": "途中まで（上限に達しました）", "running": "実行中または中断",
                "error": "読み取れません"}


def live_version(audience: str) -> dict:
    versions = publishing.store(_settings(), audience)
    current = versions.current()
    info = None
    if current:
        try:
            info = versions.info(current)
        except (VersionError, OSError, ValueError):
            info = None
    return {"audience": audience, "version": current, "info": info, "count": len(versions.versions())}


def open_unanswered_count() -> int:
    with Session(_convlog().engine) as session:
        query = select(func.count()).select_from(Unanswered).where(Unanswered.status == "open")
        try:
            return int(session.execute(query).scalar() or 0)
        except Exception:  # no table yet (nothing was ever logged)
            log.exception("admin: cannot count the unanswered queue")
            return 0


@bp.get("/")
@login_required(role="admin")
def dashboard():
    return render_template(
        "admin_dashboard.html", staff=g.staff, components=component_status(),
        crawls=[crawl_status(a) for a in AUDIENCES], crawl_states=CRAWL_STATES,
        lives=[live_version(a) for a in AUDIENCES], unanswered=open_unanswered_count(),
    )


# --- FAQ upload → check → publish ---------------------------------------------------------

def upload_dir() -> Path:
    directory = resolve(_settings()["INDEX_ROOT"]).parent / "uploads"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _source_name(filename: str) -> str:
    """The uploaded file's base name, for people only (version history); never used as a path."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:100] or "upload.csv"


def _sweep_uploads(directory: Path) -> None:
    """Delete uploads nobody published or cancelled within a day."""
    cutoff = time.time() - UPLOAD_TTL_SECONDS
    for path in directory.iterdir():
        stem = path.name.split(".", 1)[0]
        try:
            if TOKEN.fullmatch(stem) and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def save_upload(raw: bytes, audience: str, source: str) -> str:
    directory = upload_dir()
    _sweep_uploads(directory)
    token = secrets.token_hex(16)
    meta = {"audience": audience, "source": source, "user": g.staff["user"], "size": len(raw),
            "uploaded_at": datetime.now(UTC).isoformat(timespec="seconds")}
    for suffix, data in ((".json", json.dumps(meta, ensure_ascii=False).encode("utf-8")), (".csv", raw)):
        fd = os.open(directory / f"{token}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return token


def _token(value: str | None) -> str:
    if not value or not TOKEN.fullmatch(value):
        _bad(ERROR_TOKEN)
    return value


def claim_upload(token: str) -> tuple[bytes, dict]:
    """Take the upload out of the directory (exactly one request can) and return its bytes and metadata."""
    directory = upload_dir()
    path, meta_path = directory / f"{token}.csv", directory / f"{token}.json"
    claimed = directory / f"{token}.claimed"
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        meta_path.unlink(missing_ok=True)
        _bad(ERROR_TOKEN)
    try:
        raw = claimed.read_bytes()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        _bad(ERROR_TOKEN)
    finally:
        claimed.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
    return raw, meta


def _live_questions(audience: str) -> dict[str, str]:
    try:
        return {e.faq_id: e.question for e in publishing.live_entries(_settings(), audience)}
    except Exception:
        log.exception("admin: cannot read the live FAQ of %s", audience)
        return {}


@bp.get("/faq")
@login_required(role="admin")
def faq():
    return render_template("admin_faq.html", staff=g.staff, lives=[live_version(a) for a in AUDIENCES],
                           max_mb=max_upload_bytes() // (1024 * 1024), error=None, selected="resident")


@bp.post("/faq/check")
@login_required(role="admin")
def faq_check():
    audience = _audience(request.form.get("audience"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("admin_faq.html", staff=g.staff, lives=[live_version(a) for a in AUDIENCES],
                               max_mb=max_upload_bytes() // (1024 * 1024), error=ERROR_NO_FILE,
                               selected=audience), 400
    limit = max_upload_bytes()
    raw = upload.stream.read(limit + 1)
    source = _source_name(upload.filename)
    report = check_faq_bytes(raw, source, limit)
    diff, token, same, questions, removed = None, None, False, {}, {}
    if report.ok:
        result = publishing.publish_entries(_settings(), audience, report.entries, source, dry_run=True)
        diff = result.diff
        same = diff.empty and publishing.store(_settings(), audience).current() is not None
        questions = {e.faq_id: e.question for e in report.entries}
        if diff.removed:
            live = _live_questions(audience)
            removed = {faq_id: live.get(faq_id, "") for faq_id in diff.removed}
        if not same:
            token = save_upload(raw, audience, source)
    rows = [("エラー", e) for e in report.errors] + [("警告", w) for w in report.warnings]
    return render_template("admin_report.html", staff=g.staff, audience=audience, report=report, rows=rows,
                           show_rows=SHOW_ROWS, diff=diff, same=same, token=token, questions=questions,
                           removed=removed)


def _web_message(error: PublishError) -> str:
    return str(error).replace(
        "それでも公開する場合は --force を付けてください。",
        "それでも公開する場合は、もう一度アップロードして「品質が下がっても公開する」にチェックを入れてください。")


@bp.post("/faq/publish")
@login_required(role="admin")
def faq_publish():
    token = _token(request.form.get("token"))
    audience = _audience(request.form.get("audience"))
    force = request.form.get("force") == "1"
    raw, meta = claim_upload(token)  # removed from disk from here on, whatever happens
    if meta.get("audience") != audience or meta.get("user") != g.staff["user"]:
        _bad(ERROR_TOKEN)
    result, error = None, None
    with _publish_lock:
        try:
            result = publishing.publish(_settings(), audience, raw, meta.get("source") or "upload.csv",
                                        force=force, encoder=_encoder())
        except PublishError as exc:
            error = _web_message(exc)
        except Exception:
            log.exception("admin: publishing %s failed", audience)
            error = "公開の処理中にエラーが発生しました。公開中の版は変わっていません。管理者ログを確認してください。"
    if result is not None and result.version:
        _audit("faq_publish", [audience, result.version])
    status = 200 if error is None else 422
    return render_template("admin_published.html", staff=g.staff, audience=audience, result=result,
                           error=error), status


@bp.post("/faq/cancel")
@login_required(role="admin")
def faq_cancel():
    token = _token(request.form.get("token"))
    directory = upload_dir()
    found = False
    for suffix in (".csv", ".json"):
        try:
            (directory / f"{token}{suffix}").unlink()
            found = True
        except FileNotFoundError:
            pass
    if not found:
        _bad(ERROR_TOKEN)
    flash("アップロードしたファイルを取り消しました。公開中の版は変わっていません。", "success")
    return redirect(url_for("admin.faq"))


# --- versions -------------------------------------------------------------------------------

@bp.get("/versions")
@login_required(role="admin")
def versions():
    histories = []
    for audience in AUDIENCES:
        store = publishing.store(_settings(), audience)
        histories.append({"audience": audience, "current": store.current(),
                          "versions": list(reversed(store.versions()))})
    return render_template("admin_versions.html", staff=g.staff, histories=histories)


@bp.post("/versions/rollback")
@login_required(role="admin")
def rollback():
    audience = _audience(request.form.get("audience"))
    version = request.form.get("version") or ""
    if not VERSION_ID.fullmatch(version):
        _bad("版の指定が正しくありません。")
    with _publish_lock:
        try:
            live = publishing.rollback(_settings(), audience, version)
        except (PublishError, VersionError) as exc:
            flash(str(exc), "error")
            return redirect(url_for("admin.versions"))
    _audit("faq_rollback", [audience, live])
    flash(f"{AUDIENCE_LABELS[audience]}のFAQを版 {live} に戻しました。次の質問から反映されます。", "success")
    return redirect(url_for("admin.versions"))


# --- unanswered questions -----------------------------------------------------------------

def unanswered_item(item_id: int) -> dict | None:
    with Session(_convlog().engine) as session:
        row = session.get(Unanswered, item_id)
        if row is None:
            return None
        return {"id": row.id, "created_at": row.created_at, "audience": row.audience, "text": row.text,
                "reason": row.reason, "status": row.status}


def next_faq_id(audience: str) -> str:
    """The next free ``R-0001``-style id of the audience (from the live version, else the repository's FAQ)."""
    prefix = ID_PREFIX.get(audience, "R")
    ids: list[str] = []
    try:
        ids = [e.faq_id for e in publishing.live_entries(_settings(), audience)]
    except Exception:
        log.exception("admin: cannot read the live FAQ of %s", audience)
    if not ids:
        try:
            ids = [e.faq_id for e in load_faq_paths([resolve(_settings()[f"FAQ_{audience.upper()}"])])]
        except Exception:
            ids = []
    pattern = re.compile(rf"{prefix}-(\d+)")
    numbers = [int(m.group(1)) for i in ids if (m := pattern.fullmatch(i.strip()))]
    return f"{prefix}-{(max(numbers) if numbers else 0) + 1:04d}"


FORM_FIELDS = ("faq_id", "question", "answer", "url", "category1", "category2", "department", "updated_at",
               "alt_questions")
FIELD_LABELS = {"faq_id": "ID", "question": "質問", "answer": "回答", "url": "URL（関連ページ）",
                "category1": "カテゴリ1", "category2": "カテゴリ2", "department": "担当課",
                "updated_at": "更新日", "alt_questions": "別の聞き方（| で区切る）"}


def csv_line(values: dict[str, str]) -> tuple[str, str]:
    """(header line, row line) in the FAQ layout, quoted by the csv module as Excel expects."""
    columns = [c for c in COLUMNS if c in FORM_FIELDS]
    header, row = io.StringIO(), io.StringIO()
    csv.writer(header, lineterminator="").writerow(columns)
    csv.writer(row, lineterminator="").writerow([values.get(c, "") for c in columns])
    return header.getvalue(), row.getvalue()


@bp.get("/unanswered")
@login_required(role="admin")
def unanswered():
    items = _convlog().unanswered_queue(status="open", limit=200)
    for item in items:
        item["text"] = mask(item["text"] or "").text  # stored masked already; masking is idempotent
    return render_template("admin_unanswered.html", staff=g.staff, items=items)


@bp.route("/unanswered/<int:item_id>/new-faq", methods=["GET", "POST"])
@login_required(role="admin")
def new_faq(item_id: int):
    item = unanswered_item(item_id)
    if item is None:
        return _message("その質問は見つかりません。", 404, "見つかりません")
    item["text"] = mask(item["text"] or "").text
    audience = item["audience"] if item["audience"] in AUDIENCES else "resident"
    if request.method == "POST":
        values = {f: (request.form.get(f) or "").strip()[:10_000] for f in FORM_FIELDS}
    else:
        values = dict.fromkeys(FORM_FIELDS, "") | {
            "faq_id": next_faq_id(audience), "question": item["text"],
            "updated_at": datetime.now(JST).date().isoformat()}
    header, line, report = None, None, None
    if request.method == "POST":
        header, line = csv_line(values)
        report = check_faq_bytes(f"{header}\r\n{line}\r\n".encode(), "new-faq.csv")
    return render_template("admin_new_faq.html", staff=g.staff, item=item, audience=audience, values=values,
                           fields=FORM_FIELDS, labels=FIELD_LABELS, header=header, line=line, report=report)


@bp.post("/unanswered/<int:item_id>/done")
@login_required(role="admin")
def unanswered_done(item_id: int):
    if _convlog().set_unanswered_status(item_id, "done"):
        _audit("unanswered_done", [str(item_id)])
        flash("対応済みにしました。", "success")
    else:
        flash("その質問は見つかりませんでした。", "error")
    return redirect(url_for("admin.unanswered"))


# --- usage statistics (PDCA) --------------------------------------------------------------

def _period(args) -> tuple[datetime, datetime, str]:
    """?fy=2026 (a fiscal year) or ?days=30 (default): the period and its Japanese label."""
    from bot.stats import TOKYO, fiscal_year_range

    if (fy := args.get("fy", "")).isdigit() and 2000 <= int(fy) <= 2100:
        start, end = fiscal_year_range(int(fy))
        return start, end, f"{fy}年度（{fy}年4月～{int(fy) + 1}年3月）"
    days = int(args["days"]) if args.get("days", "").isdigit() and 1 <= int(args["days"]) <= 3660 else 30
    end = datetime.now(TOKYO).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end - timedelta(days=days), end, f"直近{days}日"


def _usage(audience: str, start: datetime, end: datetime):
    from bot.publishing import live_entries
    from bot.stats import usage

    log = _convlog()
    turns = log.turns_between(start, end, audience)
    try:
        entries = live_entries(_settings(), audience)
    except Exception:  # no index yet: categories fall back to その他
        entries = []
    return usage(turns, log.unanswered_between(start, end, audience), entries, start, end), turns


@bp.get("/stats")
@login_required(role="admin")
def stats():
    from bot.stats import TOKYO, bar_chart, period_days, template_context
    from retrieval.office_hours import OfficeHours

    audience = _audience(request.args.get("audience") or "resident")
    start, end, label = _period(request.args)
    result, turns = _usage(audience, start, end)
    months = sorted({d[:7] for d in period_days(start, end)})
    context = template_context(result, months, turns, OfficeHours.parse(_settings()["OFFICE_HOURS"]))
    daily = [(d, result.by_day.get(d, 0)) for d in period_days(start, end)]
    context["daily_chart"] = bar_chart([d[5:] for d, _ in daily], [n for _, n in daily], "日別の質問数")
    return render_template("admin_stats.html", staff=g.staff, audience=audience, label=label,
                           now=datetime.now(TOKYO), fy=request.args.get("fy", ""), days=request.args.get("days", ""),
                           **context)


@bp.get("/stats.csv")
@login_required(role="admin")
def stats_csv():
    from bot.stats import period_days, to_csv

    audience = _audience(request.args.get("audience") or "resident")
    start, end, _label = _period(request.args)
    result, _turns = _usage(audience, start, end)
    months = sorted({d[:7] for d in period_days(start, end)})
    name = f"citybot-usage-{audience}-{start.date().isoformat()}-{(end - timedelta(days=1)).date().isoformat()}.csv"
    return current_app.response_class(to_csv(result, months), mimetype="text/csv; charset=utf-8",
                                      headers={"Content-Disposition": f"attachment; filename={name}"})
