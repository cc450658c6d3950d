"""``citybot``: the command line for residents' demo, maintainers and operators.

A thin click layer: it calls the domain modules and turns their errors into
``ClickException`` with a clear message. Nothing imports this module.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.settings import SETTINGS, load_settings, resolve

console = Console()
AUDIENCE_CHOICE = click.Choice(["resident", "staff"])


def _settings() -> dict:
    try:
        return load_settings()
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
@click.version_option(package_name="citybot")
def main() -> None:
    """citybot — 習志野市 FAQ chatbot (Rasa + GiNZA + hybrid retrieval)."""


# --- index -----------------------------------------------------------------

@main.group()
def index() -> None:
    """Build and inspect the search indexes."""


def build_indexes(settings: dict, audiences: list[str], force: bool = False) -> None:
    """FAQ index of each audience, and its page index when its homepage was crawled."""
    from bot.indexing import build_audience, build_pages
    from retrieval.faq import FaqFormatError

    for audience in audiences:
        for kind, build in (("faq", build_audience), ("pages", build_pages)):
            label = audience if kind == "faq" else f"{audience} pages"
            with Progress(TextColumn(f"[bold]{label}[/] embedding"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, transient=True) as bar:
                task = bar.add_task("embed", total=None)
                try:
                    report = build(settings, audience, force=force,
                                   progress=lambda done, total, task=task: bar.update(task, completed=done, total=total))
                except (FaqFormatError, FileNotFoundError) as exc:
                    raise click.ClickException(str(exc)) from exc
            if report is None:
                continue  # this audience's homepage was not crawled
            state = "up to date" if report.skipped else f"built in {report.seconds:.1f} s"
            if report.note:
                state += f" — {report.note}"
            unit = "entries" if kind == "faq" else "passages"
            console.print(f"index {label}: {report.entries} {unit}, {state} → {report.path}")


@index.command("build")
@click.option("--audience", type=click.Choice(["all", "resident", "staff"]), default="all", show_default=True)
@click.option("--force", is_flag=True, help="Rebuild even if nothing changed.")
def index_build(audience: str, force: bool) -> None:
    """Embed the FAQ CSVs and write each audience's index."""
    build_indexes(_settings(), ["resident", "staff"] if audience == "all" else [audience], force)


# --- faq (maintainers) ---------------------------------------------------------

@main.group()
def faq() -> None:
    """Maintainers: check, publish and roll back an audience's FAQ CSV."""


def _print_check(report) -> None:
    table = Table(title=f"{report.source}: {report.summary()}")
    for column in ("種別", "行", "列", "内容"):
        table.add_column(column)
    for kind, rows in (("エラー", report.errors), ("警告", report.warnings)):
        for row in rows[:200]:
            table.add_row(kind, str(row.line or "-"), row.column or "-", row.message)
    if report.errors or report.warnings:
        console.print(table)
    else:
        console.print(f"{report.source}: {report.summary()}")


@faq.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def faq_validate(file: str) -> None:
    """Check a CSV (encoding, layout, every row); exit 1 on any error. Nothing is changed."""
    from retrieval.faq_check import check_faq_file

    report = check_faq_file(file)
    _print_check(report)
    if not report.ok:
        raise SystemExit(1)


@faq.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--audience", type=AUDIENCE_CHOICE, required=True)
@click.option("--dry-run", is_flag=True, help="Check and show the diff only.")
@click.option("--force", is_flag=True, help="Publish even if the regression check finds a quality drop.")
def faq_import(file: str, audience: str, dry_run: bool, force: bool) -> None:
    """Check FILE, show the diff, build a new version, check quality, switch the live version atomically."""
    from bot.publishing import PublishError, publish
    from retrieval.faq_check import check_faq_file

    settings = _settings()
    report = check_faq_file(file)
    _print_check(report)
    if not report.ok:
        raise click.ClickException("ファイルに問題があるため、何も変更していません。")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def step(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        try:
            result = publish(settings, audience, Path(file).read_bytes(), Path(file).name, dry_run=dry_run,
                             force=force, progress=step)
        except PublishError as exc:
            raise click.ClickException(str(exc)) from exc
    diff = result.diff
    console.print(f"差分: {diff.summary()}")
    for label, ids in (("追加", diff.added), ("変更", diff.changed), ("削除", diff.removed)):
        if ids:
            console.print(f"  {label}: {', '.join(ids[:30])}{' …' if len(ids) > 30 else ''}")
    if result.quality:
        q = result.quality
        console.print(f"品質確認: MRR@10 {q['live']:.3f} → {q['new']:.3f}（評価用の質問 {q['queries']}件）")
    if dry_run:
        console.print("確認のみ（--dry-run）: 何も変更していません。")
    elif result.version is None:
        console.print("内容が公開中の版と同じため、何も変更していません。")
    else:
        console.print(f"公開しました: {audience} の版 {result.version}（{len(result.report.entries)}件、"
                      f"新しく埋め込んだ文 {result.embedded}件、{result.seconds:.1f} 秒）。"
                      "回答への反映は次の質問からです。NLU の例文も更新するには citybot nlu retrain を実行してください。")


@faq.command("versions")
@click.option("--audience", type=AUDIENCE_CHOICE, default="resident", show_default=True)
def faq_versions(audience: str) -> None:
    """Published versions (the live one marked)."""
    from bot.publishing import store

    versions = store(_settings(), audience)
    current = versions.current()
    table = Table(title=f"{audience} FAQ versions")
    for column in ("", "version", "published (UTC)", "entries", "added / changed / removed", "MRR@10", "source"):
        table.add_column(column)
    for v in versions.versions():
        quality = f"{v.quality['live']:.3f}→{v.quality['new']:.3f}" if v.quality else "-"
        table.add_row("●" if v.version == current else "", v.version, v.created_at[:19], str(v.entries),
                      f"{len(v.added)} / {len(v.changed)} / {len(v.removed)}", quality, v.source)
    console.print(table)


@faq.command("rollback")
@click.argument("version", required=False)
@click.option("--audience", type=AUDIENCE_CHOICE, default="resident", show_default=True)
def faq_rollback(version: str | None, audience: str) -> None:
    """Make VERSION (default: the one before the live one) live again."""
    from bot.publishing import PublishError, rollback
    from retrieval.versions import VersionError

    try:
        live = rollback(_settings(), audience, version)
    except (PublishError, VersionError) as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"{audience}: 版 {live} に戻しました（次の質問から反映されます）。")


# --- ask -------------------------------------------------------------------

@main.command()
@click.argument("question")
@click.option("--audience", type=AUDIENCE_CHOICE, default="resident", show_default=True)
@click.option("-k", "--top-k", default=5, show_default=True)
def ask(question: str, audience: str, top_k: int) -> None:
    """Search the FAQ (and the crawled homepage, if any) directly, without Rasa: top hits, scores, links."""
    from retrieval.index import IndexMismatchError
    from retrieval.registry import IndexRegistry

    settings = _settings()
    registry = IndexRegistry(resolve(settings["INDEX_ROOT"]), settings["ENCODER"])
    kinds = ["faq"] + (["pages"] if registry.has(audience, "pages") else [])
    for kind in kinds:
        try:
            result = registry.get(audience, kind).search(question, top_k)
        except (FileNotFoundError, IndexMismatchError) as exc:
            raise click.ClickException(str(exc)) from exc
        label = "FAQ" if kind == "faq" else "homepage passages"
        table = Table(title=f"{label}: {question}  →  tier: {result.tier}  ({result.seconds * 1000:.0f} ms)")
        for column in ("#", "id", "score", "q", "a", "bm25", "cov", "question / page > heading", "url"):
            table.add_column(column, overflow="fold")
        for rank, hit in enumerate(result.hits, 1):
            s = hit.signals
            table.add_row(str(rank), hit.faq_id, f"{hit.score:.3f}", f"{s['q']:.3f}", f"{s['a']:.3f}",
                          f"{s['bm25']:.2f}", f"{s['coverage']:.2f}", hit.question, hit.url)
        console.print(table)


# --- eval ------------------------------------------------------------------

@main.command("eval")
@click.option("--beir", "beir_dir", type=click.Path(exists=True, file_okay=False), help="BEIR directory.")
@click.option("--faq", "faq_path", type=click.Path(exists=True), help="FAQ CSV (or directory) for --queries.")
@click.option("--pages", "pages_audience", type=AUDIENCE_CHOICE,
              help="Search this audience's crawled homepage (citybot crawl) for --queries; judged per page URL.")
@click.option("--queries", "queries_path", type=click.Path(exists=True, dir_okay=False), help="Our JSONL query set.")
@click.option("--trec-out", type=click.Path(dir_okay=False), help="Write a TREC run file.")
@click.option("--top-k", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--ablation", is_flag=True, help="Also compare BM25 only / dense only / no synonyms / production.")
def eval_cmd(beir_dir, faq_path, pages_audience, queries_path, trec_out, top_k, as_json, ablation) -> None:
    """Measure answer quality on a labelled query set (BEIR layout, or our JSONL against the FAQ or pages)."""
    import json as jsonlib

    from bot.evaluate import ablation as run_ablation
    from bot.evaluate import cached_index, run_eval
    from retrieval.datasets import load_beir, load_page_query_jsonl, load_query_jsonl
    from retrieval.encoders import load_encoder
    from retrieval.faq import FaqFormatError, load_faq_paths

    settings = _settings()
    sources = [bool(beir_dir), bool(faq_path), bool(pages_audience)]
    if sum(sources) != 1 or bool(queries_path) == bool(beir_dir):
        raise click.UsageError("use either --beir DIR, or --faq CSV / --pages AUDIENCE with --queries JSONL")
    try:
        if beir_dir:
            entries, eval_set = load_beir(beir_dir)
        elif faq_path:
            entries, eval_set = load_faq_paths([faq_path]), load_query_jsonl(queries_path)
        else:
            from bot.crawling import crawled_entries

            entries = crawled_entries(settings, pages_audience)
            eval_set = load_page_query_jsonl(queries_path, entries)
    except (FaqFormatError, ValueError, KeyError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    encoder = load_encoder(settings["ENCODER"])
    with Progress(TextColumn("[bold]indexing corpus"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("embed", total=None)
        index = cached_index(entries, settings, encoder,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    report = run_eval(index, eval_set, top_k=top_k, trec_out=trec_out, by_url=bool(pages_audience))
    if ablation:
        report["ablation"] = run_ablation(entries, eval_set, settings, encoder, by_url=bool(pages_audience))
    if as_json:
        click.echo(jsonlib.dumps(report, ensure_ascii=False))
        return
    _print_report(report, trec_out)


def _print_report(report: dict, trec_out: str | None) -> None:
    metrics, tiers, latency = report["metrics"], report["tiers"], report["latency"]
    table = Table(title=f"{metrics.get('queries', 0)} judged queries, corpus {report['corpus']} entries")
    for name in ("hit@1", "hit@3", "hit@10", "mrr@10", "ndcg@10", "recall@10", "p@5"):
        table.add_column(name)
    table.add_row(*(f"{metrics.get(n, 0):.3f}" for n in ("hit@1", "hit@3", "hit@10", "mrr@10", "ndcg@10",
                                                          "recall@10", "p@5")))
    console.print(table)
    line = (f"tiers: answer {tiers['answer_rate']:.1%} of in-scope (precision {tiers['answer_precision']:.1%}), "
            f"answer+suggest {tiers['in_scope_answered']:.1%}")
    if "oos_unknown" in tiers:
        line += f"; out-of-scope → unknown {tiers['oos_unknown']:.1%} of {tiers['oos_queries']}"
    console.print(line)
    console.print(f"latency per query: p50 {latency.get('p50_ms', 0)} ms, p95 {latency.get('p95_ms', 0)} ms")
    for name, result in report.get("ablation", {}).items():
        m = result["metrics"]
        console.print(f"  {name:<34} hit@1 {m['hit@1']:.3f}  mrr@10 {m['mrr@10']:.3f}  ndcg@10 {m['ndcg@10']:.3f}")
    if trec_out:
        console.print(f"TREC run → {trec_out}")


# --- conversation log --------------------------------------------------------

@main.group("log")
def log_group() -> None:
    """The conversation log (masked turns, feedback, unanswered questions)."""


def _conversation_log():
    from bot.app import _database_url
    from bot.convlog import ConversationLog

    settings = _settings()
    return settings, ConversationLog(_database_url(settings["LOG_DB"]), salt="")


@log_group.command("purge")
@click.option("--days", type=click.IntRange(1), help="Keep this many days (default: CITYBOT_LOG_RETENTION_DAYS).")
def log_purge(days: int | None) -> None:
    """Delete conversation log rows older than the retention period."""
    settings, log = _conversation_log()
    days = days or settings["LOG_RETENTION_DAYS"]
    deleted = log.delete_older_than(days)
    console.print(f"deleted {deleted} rows older than {days} days")


@log_group.command("unanswered")
@click.option("--audience", type=AUDIENCE_CHOICE, default=None)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
def log_unanswered(audience: str | None, limit: int) -> None:
    """The open queue of unanswered questions (masked), newest first."""
    _settings_, log = _conversation_log()
    table = Table(title="unanswered questions (open)")
    for column in ("id", "when (UTC)", "audience", "reason", "question"):
        table.add_column(column)
    for row in log.unanswered_queue(audience, limit=limit):
        table.add_row(str(row["id"]), str(row["created_at"])[:16], row["audience"], row["reason"], row["text"])
    console.print(table)


# --- staff accounts ---------------------------------------------------------

@main.group()
def staff() -> None:
    """Staff accounts for /staff (Argon2id password hashes)."""


def _staff_store():
    from bot.accounts import StaffStore
    from bot.app import _database_url

    return StaffStore(_database_url(_settings()["STAFF_DB"]))


@staff.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["staff", "admin"]), default="staff", show_default=True)
@click.password_option(help="Prompted (twice) when not given; at least 12 characters.")
def staff_add(username: str, role: str, password: str) -> None:
    """Create an account."""
    from bot.accounts import AccountError

    try:
        _staff_store().add(username, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"added {username} ({role})")


@staff.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Re-enable instead.")
def staff_disable(username: str, enable: bool) -> None:
    """Disable an account (its open sessions end at their next request)."""
    from bot.accounts import AccountError

    try:
        _staff_store().set_disabled(username, not enable)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"{username}: {'enabled' if enable else 'disabled'}")


@staff.command("list")
def staff_list() -> None:
    """Accounts with role, state and last login."""
    table = Table(title="staff accounts")
    for column in ("username", "role", "state", "created", "last login"):
        table.add_column(column)
    for user in _staff_store().users():
        table.add_row(user["username"], user["role"], "disabled" if user["disabled"] else "active",
                      str(user["created_at"])[:16], str(user["last_login_at"] or "-")[:16])
    console.print(table)


# --- report ---------------------------------------------------------------------

@main.command()
@click.option("--fiscal-year", type=int, required=True, help="年度: April of this year to March of the next.")
@click.option("--audience", type=AUDIENCE_CHOICE, default="resident", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="var/reports", show_default=True)
def report(fiscal_year: int, audience: str, out_dir: str) -> None:
    """Write the annual usage report (HTML with charts, and CSV) that the city can publish."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from bot.publishing import live_entries
    from bot.stats import fiscal_months, fiscal_year_range, template_context, to_csv, usage
    from retrieval.office_hours import OfficeHours

    settings, log = _conversation_log()
    start, end = fiscal_year_range(fiscal_year)
    turns = log.turns_between(start, end, audience)
    unanswered = log.unanswered_between(start, end, audience)
    try:
        entries = live_entries(settings, audience)
    except Exception:  # no index yet: categories fall back to その他
        entries = []
    result = usage(turns, unanswered, entries, start, end)
    months = fiscal_months(fiscal_year)
    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                      autoescape=select_autoescape(["html"]))
    title = f"AIチャットボット利用状況（令和{fiscal_year - 2018}年度）"
    page = env.get_template("report.html").render(
        title=title, period=f"{fiscal_year}年4月1日～{fiscal_year + 1}年3月31日",
        audience_label="市民向け" if audience == "resident" else "職員向け", created=datetime_now_tokyo(),
        **template_context(result, months, turns, OfficeHours.parse(settings["OFFICE_HOURS"])))
    out = resolve(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"usage-{audience}-FY{fiscal_year}"
    (out / f"{stem}.html").write_text(page, encoding="utf-8")
    (out / f"{stem}.csv").write_text(to_csv(result, months), encoding="utf-8")
    console.print(f"{result.questions} questions in FY{fiscal_year} → {out / stem}.html, {stem}.csv")


def datetime_now_tokyo() -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    return f"{now.year}年{now.month}月{now.day}日"


# --- nlu -------------------------------------------------------------------

@main.group()
def nlu() -> None:
    """Rasa NLU data and model."""


@nlu.command("generate")
def nlu_generate() -> None:
    """Write data/nlu/generated_faq.yml (ask_question examples from the FAQ CSVs)."""
    from bot.nlu_data import generate

    path, count = generate(_settings())
    console.print(f"{count} ask_question examples → {path}")


def train_model(settings: dict, force: bool = False, out: Console = console):
    from bot.nlu_data import generate
    from bot.training import TrainingError, train

    generate(settings)
    started = time.monotonic()
    with out.status("rasa train (log: var/log/rasa-train.log) …"):
        try:
            model, trained = train(settings, force=force)
        except TrainingError as exc:
            raise click.ClickException(str(exc)) from exc
    state = f"trained in {time.monotonic() - started:.0f} s" if trained else "up to date (training data unchanged)"
    out.print(f"rasa model: {model.name}, {state}")
    return model


@nlu.command("retrain")
@click.option("--no-load", is_flag=True, help="Train only; do not load the model into the running Rasa.")
def nlu_retrain(no_load: bool) -> None:
    """Regenerate FAQ examples, train if anything changed, and load the model into the running Rasa (no restart)."""
    from bot.training import TrainingError, load_into_rasa

    settings = _settings()
    model = train_model(settings)  # a failed training raises here: the running model is untouched
    if no_load:
        return
    with console.status(f"loading {model.name} into Rasa at {settings['RASA_URL']} …"):
        try:
            load_into_rasa(settings["RASA_URL"], model)
        except TrainingError as exc:
            raise click.ClickException(f"{exc} — the previous model keeps serving") from exc
    console.print(f"live: Rasa now serves {model.name}")


@nlu.command("validate")
def nlu_validate() -> None:
    """rasa data validate; fails on any warning that is not explained (payload-only intent, response read by an action)."""
    from bot.nlu_data import generate
    from bot.rasa_checks import validate_data

    settings = _settings()
    generate(settings)
    with console.status("rasa data validate …"):
        result = validate_data(settings)
    console.print(f"{len(result.explained)} expected warnings (payload-only intents, responses read by actions)")
    for warning in result.unexplained:
        console.print(f"[red]unexplained:[/red] {warning}")
    if not result.ok:
        raise click.ClickException("rasa data validate is not clean" + ("" if result.unexplained else ":\n" + result.output[-2000:]))
    console.print("rasa data validate: clean")


@nlu.command("test")
@click.option("--file", "test_file", type=click.Path(exists=True, dir_okay=False), default="data/eval/nlu.test.yml",
              show_default=True, help="Held-out NLU examples (Rasa YAML).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def nlu_test(test_file: str, as_json: bool) -> None:
    """Intent classification on a held-out set: per-intent P/R/F1, macro-F1 of scripted intents, out_of_scope recall."""
    import json as jsonlib

    from bot.rasa_checks import RasaCheckError, nlu_report

    settings = _settings()
    progress = Console(stderr=True) if as_json else console
    model = train_model(settings, out=progress)
    with progress.status("rasa test nlu …"):
        try:
            report = nlu_report(settings, Path(test_file).resolve(), model)
        except RasaCheckError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(jsonlib.dumps(report, ensure_ascii=False))
        return
    table = Table(title=f"{report['examples']} held-out examples ({test_file})")
    for column in ("intent", "precision", "recall", "F1", "n", "confused with"):
        table.add_column(column)
    for name, v in sorted(report["intents"].items()):
        confused = ", ".join(f"{k} {n}" for k, n in v["confused_with"].items())
        table.add_row(name, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"]), confused)
    console.print(table)
    console.print(f"macro-F1 scripted intents {report['macro_f1_scripted']:.3f}, all {report['macro_f1_all']:.3f}; "
                  f"out_of_scope recall {report['out_of_scope_recall']:.3f}; accuracy {report['accuracy']:.3f}")


@nlu.command("test-stories")
@click.option("--stories", type=click.Path(exists=True, dir_okay=False), default="tests/test_conversations.yml",
              show_default=True)
def nlu_test_stories(stories: str) -> None:
    """rasa test core --fail-on-prediction-errors on the conversation test stories."""
    from bot.rasa_checks import count_test_stories, run_conversation_tests

    settings = _settings()
    model = train_model(settings)
    with console.status("rasa test core …"):
        passed, detail = run_conversation_tests(settings, Path(stories).resolve(), model)
    if not passed:
        console.print(detail)
        raise click.ClickException("conversation test stories failed (above)")
    console.print(f"{count_test_stories(Path(stories))} conversation test stories: all passed")


@nlu.command("train")
@click.option("--force", is_flag=True, help="Train even if the training data did not change.")
def nlu_train(force: bool) -> None:
    """Train the Rasa model in .venv-rasa if the training data changed."""
    train_model(_settings(), force)


# --- crawl -----------------------------------------------------------------

@main.command("crawl")
@click.argument("start_url", required=False)
@click.option("--sample", is_flag=True,
              help="Serve sample_site/ with the gateway app on 127.0.0.1 (free port), crawl it with delay 0, "
                   "then stop the server. Only in this loopback sample mode is the site's robots.txt "
                   "Crawl-delay deliberately overridden (it is our own local fixture); pages are recorded "
                   "under SITE_ORIGIN.")
@click.option("--max-pages", type=click.IntRange(1), default=500, show_default=True,
              help="Stop after this many URLs.")
@click.option("--allow", "allow", multiple=True, metavar="PREFIX",
              help="URL prefix (or /path/) the crawler may fetch; repeatable. Default: the start URL's directory.")
@click.option("--delay", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Seconds between two requests to a host; a larger robots.txt Crawl-delay always wins.")
@click.option("--audience", type=AUDIENCE_CHOICE, default="resident", show_default=True,
              help="Whose page store to write: var/pages/<audience>.sqlite.")
@click.option("--concurrency", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Worker threads (still one request at a time per host).")
@click.pass_context
def crawl_cmd(ctx: click.Context, start_url: str | None, sample: bool, max_pages: int, allow: tuple[str, ...],
              delay: float, audience: str, concurrency: int) -> None:
    """Crawl the city homepage into the page store and write the dead-link report (CSV).

    Obeys robots.txt, stays under the allowed prefixes, re-extracts only changed pages and
    removes pages that are gone; an interrupted crawl resumes when run again.
    """
    from contextlib import nullcontext

    from sqlalchemy.exc import SQLAlchemyError

    from bot.crawling import run_crawl, sample_config, serve_sample_site
    from retrieval.crawler import CrawlConfig, CrawlConfigError, CrawlError

    if sample == bool(start_url):
        raise click.UsageError("give either START_URL or --sample")
    settings = _settings()
    options = {"max_pages": max_pages, "audience": audience, "concurrency": concurrency, "allow": allow}
    explicit_delay = ctx.get_parameter_source("delay") is not click.core.ParameterSource.DEFAULT
    columns = (TextColumn(f"[bold]crawl {audience}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:5.1f} pages/s"), TimeElapsedColumn(),
               TextColumn("{task.fields[url]}", style="dim", markup=False))
    try:
        with (serve_sample_site(settings) if sample else nullcontext(None)) as origin:
            if sample:
                config = sample_config(settings, origin, **options, **({"delay": delay} if explicit_delay else {}))
            else:
                config = CrawlConfig(start_url, delay=delay, **options)
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("crawl", total=None, rate=0.0, url="")

                def progress(event) -> None:
                    url = event.url if len(event.url) <= 60 else "…" + event.url[-59:]
                    bar.update(task, completed=event.done, total=max(event.known, event.done),
                               rate=event.pages_per_s, url=url)

                outcome = run_crawl(settings, config, progress)
    except (CrawlConfigError, CrawlError, SQLAlchemyError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        console.print("crawl interrupted — run the same command again to resume it")
        sys.exit(130)
    report = outcome.report
    state = "" if report.complete else " (stopped at --max-pages)"
    console.print(f"crawl {audience}: {report.summary()}{state}", soft_wrap=True, markup=False)
    console.print(f"  pages → {outcome.store_path}; dead-link report → {outcome.dead_links_path}",
                  soft_wrap=True, markup=False)


# --- serve / run -----------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Run the Flask gateway only (Rasa and the action server must be running)."""
    from bot.app import create_app

    create_app().run(host=host, port=port, threaded=True, use_reloader=False)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@main.command()
@click.option("--gateway-port", default=8000, show_default=True)
@click.option("--rasa-port", default=5005, show_default=True)
@click.option("--actions-port", default=5055, show_default=True)
def run(gateway_port: int, rasa_port: int, actions_port: int) -> None:
    """Crawl the sample homepage once, build indexes, train if needed, start everything; Ctrl-C stops all."""
    from bot.crawling import ensure_sample_crawl
    from bot.launcher import LaunchError, Ports, build_stack

    settings = _settings()
    started = time.monotonic()
    with console.status("crawling the sample homepage …"):
        crawled = ensure_sample_crawl(settings)
    if crawled:
        console.print(f"sample homepage: {crawled.report.summary()}")
    build_indexes(settings, ["resident", "staff"])
    model = train_model(settings)
    stack = build_stack(settings, model, Ports(rasa_port, actions_port, gateway_port))
    signal.signal(signal.SIGTERM, _interrupt)
    urls = {"rasa": f"http://127.0.0.1:{rasa_port}", "action server": f"http://127.0.0.1:{actions_port}",
            "gateway": f"http://127.0.0.1:{gateway_port}"}
    try:
        with console.status("starting Rasa, action server and gateway …"):
            stack.start(lambda c: console.print(
                f"[green]✓[/] {c.name:<14} healthy after {c.healthy_after:5.1f} s  {urls[c.name]}"))
        console.print(f"ready in {time.monotonic() - started:.0f} s — open [bold]http://127.0.0.1:{gateway_port}/[/] "
                      "(Ctrl-C to stop)")
        while (failed := stack.failed()) is None:
            time.sleep(1)
        console.print(f"[red]{failed.name} stopped unexpectedly[/] (exit {failed.process.returncode}); "
                      f"see {failed.log_path}")
        sys.exit(1)
    except LaunchError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        console.print("stopping …")
    finally:
        stack.stop()
        console.print("all components stopped.")


@main.command("settings")
def settings_cmd() -> None:
    """List every setting, its current value and what it does."""
    values = _settings()
    table = Table("name (env CITYBOT_…)", "value", "help")
    for setting in SETTINGS:
        shown = "(set)" if setting.name == "SECRET_KEY" and values[setting.name] else str(values[setting.name])
        table.add_row(setting.name, shown, setting.help)
    console.print(table)


if __name__ == "__main__":
    main()
