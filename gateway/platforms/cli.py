"""``tryon stores ...`` (connections, sync, category mappings), ``tryon platforms ...`` (the
job worker and its jobs) and ``tryon analytics retention``. Errors are one line
(``gateway.cli_errors.fail``)."""

from __future__ import annotations

import json
import signal
import uuid
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from gateway.cli_errors import fail
from gateway.db.base import utcnow
from gateway.db.session import make_engine, session_scope
from gateway.errors import GatewayError
from gateway.settings import GatewaySettings, get_settings

stores_app = typer.Typer(
    help="Store connections: list, sync, category mappings.", no_args_is_help=True
)
mappings_app = typer.Typer(help="A store's category rules.", no_args_is_help=True)
stores_app.add_typer(mappings_app, name="mappings")
platforms_app = typer.Typer(help="The platform job worker and its jobs.", no_args_is_help=True)


def _settings() -> GatewaySettings:
    try:
        return get_settings()
    except ValidationError as exc:
        raise fail(f"bad configuration: {exc.errors()[0]['msg']}", 2) from None


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise fail(f"{what} {value!r} is not an id", 2) from None


StoreOpt = Annotated[str, typer.Option("--store", help="The store's id (see `tryon stores list`)")]


@stores_app.command("list")
def list_stores(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every store connection with its status and last sync."""
    from gateway.platforms import installs  # noqa: PLC0415
    from gateway.platforms.schemas import store_out  # noqa: PLC0415

    engine = make_engine(_settings())
    try:
        with session_scope(engine) as session:
            rows = [store_out(s) for s in installs.list_stores(session=session)]
    except OperationalError as exc:
        raise fail(f"the database is unavailable: {exc.orig}") from None
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    for r in rows:
        counts = ", ".join(f"{k} {v}" for k, v in r.sync.counts.items() if v)
        typer.echo(
            f"{r.id}  {r.platform.value:<11} {r.shop:<40} {r.status.value:<11} "
            f"sync {r.sync.status.value}{f' ({counts})' if counts else ''}"
        )


@stores_app.command("sync")
def sync(store: StoreOpt) -> None:
    """Sync a store's whole catalog now, with a progress bar."""
    from tqdm import tqdm  # noqa: PLC0415

    from gateway.platforms import installs  # noqa: PLC0415
    from gateway.platforms import sync as sync_module  # noqa: PLC0415
    from gateway.platforms.context import build_context  # noqa: PLC0415
    from gateway.platforms.handlers import fresh_connection  # noqa: PLC0415
    from gateway.runtime import build_runtime  # noqa: PLC0415

    settings = _settings()
    store_id = _uuid(store, "store")
    engine = make_engine(settings)
    runtime = build_runtime(settings)
    ctx = build_context(settings=settings, engine=engine, runtime=runtime)
    try:
        with session_scope(engine) as session:
            row = installs.get_store(session=session, store_id=store_id)
            platform = row.platform
        fresh_connection(ctx, store_id)
        with tqdm(desc=f"sync {row.shop_domain}", unit=" products") as bar:
            result = sync_module.sync_store(
                engine=engine,
                store_id=store_id,
                adapter=ctx.adapter_for(platform),
                client=ctx.client_for(platform),
                settings=settings,
                deps=ctx.deps,
                progress=bar.update,
            )
    except GatewayError as exc:
        raise fail(exc.detail) from None
    except OperationalError as exc:
        raise fail(f"the database is unavailable: {exc.orig}") from None
    finally:
        ctx.client.close()
        runtime.close()
    typer.echo(", ".join(f"{k} {v}" for k, v in result.counts().items()))
    for failure in result.failures:
        typer.echo(f"  failed {failure['external_id']}: {failure['reason']}")


@mappings_app.command("list")
def mappings_list(store: StoreOpt) -> None:
    """The store's rules, in the order they are tried."""
    from gateway.platforms import installs, mapping  # noqa: PLC0415

    engine = make_engine(_settings())
    store_id = _uuid(store, "store")
    try:
        with session_scope(engine) as session:
            installs.get_store(session=session, store_id=store_id)
            for rule in mapping.rules_of(session=session, store_id=store_id):
                typer.echo(f"{rule.id}  {rule.field.value}={rule.value!r} -> {rule.category.value}")
    except GatewayError as exc:
        raise fail(exc.detail) from None


@mappings_app.command("add")
def mappings_add(
    store: StoreOpt,
    field: Annotated[str, typer.Option(help="product_type, tag or collection")],
    value: Annotated[str, typer.Option(help="Compared case-insensitively")],
    category: Annotated[str, typer.Option(help="eyewear, hat, earrings, necklace or top")],
) -> None:
    """Map products whose FIELD is VALUE to CATEGORY (takes effect at the next sync)."""
    from gateway.platforms import installs, mapping  # noqa: PLC0415

    engine = make_engine(_settings())
    store_id = _uuid(store, "store")
    try:
        with session_scope(engine) as session:
            row = installs.get_store(session=session, store_id=store_id)
            rule = mapping.add_rule(
                session=session, store=row, field=field, value=value, category=category
            )
            typer.echo(f"{rule.id}  {rule.field.value}={rule.value!r} -> {rule.category.value}")
    except GatewayError as exc:
        raise fail(exc.detail) from None


@mappings_app.command("remove")
def mappings_remove(store: StoreOpt, rule: Annotated[str, typer.Option("--rule")]) -> None:
    """Remove one rule."""
    from gateway.platforms import installs, mapping  # noqa: PLC0415

    engine = make_engine(_settings())
    try:
        with session_scope(engine) as session:
            row = installs.get_store(session=session, store_id=_uuid(store, "store"))
            mapping.delete_rule(session=session, store=row, rule_id=_uuid(rule, "rule"))
    except GatewayError as exc:
        raise fail(exc.detail) from None


@platforms_app.command("worker")
def worker() -> None:
    """Run platform jobs (webhooks, syncs) until SIGTERM: the scale-out mode's worker pods."""
    from gateway.logging import configure  # noqa: PLC0415
    from gateway.platforms.context import build_context  # noqa: PLC0415
    from gateway.platforms.worker import Worker  # noqa: PLC0415
    from gateway.runtime import build_runtime  # noqa: PLC0415

    settings = _settings()
    configure(level=settings.log_level, json=settings.log_json)
    engine = make_engine(settings)
    runtime = build_runtime(settings)
    # No app here: order webhooks need the analytics pipeline, which the worker starts itself.
    from fastapi import FastAPI  # noqa: PLC0415

    from analytics.pipeline import start  # noqa: PLC0415
    from analytics.settings import AnalyticsSettings  # noqa: PLC0415

    app = FastAPI()
    app.state.settings = settings
    app.state.analytics = start(AnalyticsSettings())
    running = Worker(build_context(settings=settings, engine=engine, runtime=runtime, app=app))

    def stop(_sig: int, _frame: FrameType | None) -> None:
        running.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        running.loop()
    finally:
        running.ctx.client.close()
        app.state.analytics.close()
        runtime.close()


@platforms_app.command("jobs")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="pending, running, done or dead")] = None,
    show: Annotated[str | None, typer.Option(help="One job's id: print it whole (JSON)")] = None,
) -> None:
    """Counts per status, the jobs of one status, or one job (a data request's report)."""
    from gateway.platforms import jobs  # noqa: PLC0415
    from gateway.platforms.models import JobStatus, PlatformJob  # noqa: PLC0415

    engine = make_engine(_settings())
    with session_scope(engine) as session:
        if show is not None:
            job = session.get(PlatformJob, _uuid(show, "job"))
            if job is None:
                raise fail("no such job")
            typer.echo(
                json.dumps(
                    {
                        "id": str(job.id),
                        "kind": job.kind.value,
                        "status": job.status.value,
                        "attempts": job.attempts,
                        "last_error": job.last_error,
                        "payload": job.payload,
                    },
                    indent=2,
                    default=str,
                )
            )
            return
        if status is None:
            typer.echo(json.dumps(jobs.counts(session=session)))
            return
        try:
            wanted = JobStatus(status)
        except ValueError:
            raise fail(f"unknown status {status!r}", 2) from None
        for job in session.scalars(
            select(PlatformJob).where(PlatformJob.status == wanted).limit(200)
        ):
            typer.echo(
                f"{job.id}  {job.kind.value:<16} attempts {job.attempts}  {job.last_error or ''}"[
                    :200
                ]
            )


@platforms_app.command("retry")
def retry(
    job: Annotated[str | None, typer.Option(help="One dead job; default: all")] = None,
) -> None:
    """Give dead jobs a fresh set of attempts."""
    from gateway.platforms import jobs  # noqa: PLC0415

    engine = make_engine(_settings())
    with session_scope(engine) as session:
        n = jobs.retry_dead(
            session=session, now=utcnow(), job_id=_uuid(job, "job") if job else None
        )
    typer.echo(f"{n} job(s) queued again")


def retention(
    dry_run: Annotated[bool, typer.Option(help="Say what would go, delete nothing")] = False,
) -> None:
    """Drop warehouse rows (PostgreSQL: whole daily partitions) older than each merchant's
    retention (TRYON_ANALYTICS_RETENTION_DAYS unless the merchant set its own)."""
    from analytics.settings import AnalyticsSettings  # noqa: PLC0415
    from analytics.warehouse import erase  # noqa: PLC0415
    from analytics.warehouse.engine import make_engine as warehouse_engine  # noqa: PLC0415
    from gateway.merchants.models import Merchant  # noqa: PLC0415

    settings = _settings()
    today = utcnow().date()
    with session_scope(make_engine(settings)) as session:
        cutoffs = {
            m: today - timedelta(days=days)
            for m, days in session.execute(
                select(Merchant.id, Merchant.analytics_retention_days).where(
                    Merchant.analytics_retention_days.is_not(None)
                )
            ).all()
            if days is not None
        }
    default_cutoff = today - timedelta(days=settings.analytics_retention_days)
    if dry_run:
        typer.echo(f"default cutoff {default_cutoff}; {len(cutoffs)} merchant(s) with their own")
        return
    try:
        counts = erase.apply_retention(
            warehouse_engine(AnalyticsSettings(), writer=True),
            cutoffs=cutoffs,
            default_cutoff=default_cutoff,
        )
    except OperationalError as exc:
        raise fail(f"the warehouse is unavailable: {exc.orig}") from None
    typer.echo(json.dumps(counts))
