"""Building a job's ``Renderer`` from the store: its content's schema, job fields, links.

Every path that renders a job's messages (bulk splits, real-time requests, fallback legs,
resends, previews) takes its renderer from here, so a tag renders the same on each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import Image
from ums_pipelines.content.render import LinkSettings, PhrasePicker, Renderer
from ums_pipelines.content.spec import VariableKind, specs_from
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import Job, TemplateVersion

__all__ = ["link_settings", "renderer_for", "write_links"]


def link_settings(settings: Settings, shorten_all: bool = False) -> LinkSettings:
    return LinkSettings(
        base_url=settings.shortlink_base_url,
        ttl=timedelta(days=settings.shortlink_ttl_days),
        feedback_url=settings.feedback_url,
        shorten_all=shorten_all,
    )


def _phrases(session: Session) -> PhrasePicker:
    from ums_pipelines.content.phrases import PhraseBook

    return PhraseBook.load(session).pick


def _images(settings: Settings) -> Any:
    store = ContentStore(settings.content_dir)

    def lookup(ref: str) -> Image:
        # Storing the same bytes again is a no-op that reads their type and pixels.
        return store.put_image(store.get(ref))

    return lookup


def renderer_for(session: Session, settings: Settings, job: Job, now: datetime) -> Renderer:
    """The job's renderer; a job whose content declares only the first templates' fields
    and shortens no URL gets the legacy one, the bulk hot path."""
    stored = session.scalars(
        select(TemplateVersion.variables).where(
            TemplateVersion.template_id == job.template_id,
            TemplateVersion.version == job.template_version,
        )
    ).first()
    specs = specs_from(stored or [])
    day = now.astimezone(settings.tz).date()
    params: dict[str, Any] = dict(job.params or {})
    job_values = {
        "job_name": job.name,
        "sender_number": job.sender_number,
        "department": job.department,
        "today": day.isoformat(),
        "params": params,
    }
    kinds = {s.kind for s in specs}
    renderer = Renderer(
        specs,
        job_values,
        day,
        links=link_settings(settings, bool(job.shorten_urls)),
        phrases=_phrases(session) if VariableKind.PHRASE in kinds else None,
        occasion=params.get("occasion"),
        images=_images(settings) if VariableKind.IMAGE in kinds else None,
    )
    secret = settings.unsubscribe_secret
    if job.purpose == "advertising" and secret is not None and secret.get_secret_value():
        from ums_pipelines.customers.unsubscribe import unsubscribe_url

        renderer.unsubscribe = partial(unsubscribe_url, settings)
    if settings.opens_secret is not None and settings.opens_secret.get_secret_value():
        from ums_pipelines.shortlinks.opens import opener

        renderer.opens = opener(settings)
    return renderer


def write_links(session: Session, links: Sequence[dict[str, Any]]) -> None:
    """Short links of rendered messages, in the caller's transaction (with the messages)."""
    if links:
        from ums_pipelines.shortlinks.store import insert_links

        insert_links(session, list(links))
