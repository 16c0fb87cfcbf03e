"""Preview of a content item: what each sample customer would receive on each channel
variant and on each leg of a fallback chain, with its counts and violations.

Every leg is rendered by compose itself (``_render_leg``), so the preview is the row that
would be queued, not a second renderer that could drift from it. Nothing is written: a
preview without a job renders against a transient, unsaved ``Job``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import CHANNELS
from ums_pipelines.content.plan import renderer_for
from ums_pipelines.content.preview_legs import Count, LegView, inline_images, leg_view
from ums_pipelines.content.render import LINKS_KEY, Renderer
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.jobs import ChannelVariant, template_variants
from ums_pipelines.lanes import Lane
from ums_pipelines.masking import mask_email, mask_name, mask_phone
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Customer, Job, SenderNumber, Template, TemplateVersion
from ums_pipelines.targets import Recipient

__all__ = [
    "ChainView",
    "Count",
    "CustomerView",
    "ItemView",
    "LegView",
    "Preview",
    "PreviewError",
    "build_preview",
    "render_preview_html",
    "transient_job",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_CUSTOMERS = 50
_CHANNEL_ORDER = list(CHANNELS)


class PreviewError(ValueError):
    """A preview that cannot be built; the message names the argument and the reason."""


@dataclass(frozen=True)
class ChainView:
    label: str
    channels: tuple[str, ...]
    legs: tuple[LegView, ...]


@dataclass(frozen=True)
class CustomerView:
    customer_id: str
    name: str  # masked
    phone: str | None  # masked
    email: str | None  # masked
    push_platform: str | None
    variants: tuple[LegView, ...]
    chains: tuple[ChainView, ...]


@dataclass(frozen=True)
class ItemView:
    code: str
    name: str
    version: int
    status: str
    purpose: str
    department: str | None
    content_type: str | None
    service_code: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    approval_ids: dict[str, Any]


@dataclass(frozen=True)
class Preview:
    item: ItemView
    job_id: str | None
    sender_number: str
    generated_at: datetime
    customers: tuple[CustomerView, ...]
    images: dict[str, str]  # image ref -> data: URI, for those stored and small enough
    timezone: str = "Asia/Seoul"  # the zone the page shows times in (settings.timezone)
    short_links: int = 0  # made while rendering and not stored: they do not redirect

    @property
    def legs(self) -> list[LegView]:
        return [
            leg
            for c in self.customers
            for leg in (*c.variants, *(leg for chain in c.chains for leg in chain.legs))
        ]


def _render_leg(
    job: Job, variant: ChannelVariant, customer: Recipient, chain: list[str], leg: int,
    now: datetime, today: str, renderer: Renderer,
) -> tuple[dict[str, Any], int]:  # fmt: skip
    """The one call into compose: the row a send would queue for this leg, and how many
    short links it made (never written: a preview's links do not redirect)."""
    row, _ = compose_row(job, variant, customer, chain, leg, now, today, renderer=renderer)
    return row, len(row.pop(LINKS_KEY, []))


def _sender_for(session: Session, template: Template) -> str:
    """A transient job's sender: the item's own (``approval_ids.sender_number``), else the
    first active registered number; none leaves it empty, which the checks report."""
    own = (template.approval_ids or {}).get("sender_number")
    if isinstance(own, str) and own:
        return own
    number = session.scalars(
        select(SenderNumber.number).where(SenderNumber.active.is_(True)).order_by("number")
    ).first()
    return number or ""


def transient_job(session: Session, template: Template, version: int) -> Job:
    # Never added to the session: a preview writes nothing.
    now = utcnow()
    return Job(
        job_id="preview", name=template.name, template_id=template.id, template_version=version,
        purpose=template.purpose, priority=int(Lane.INFORMATIONAL), routes={},
        sender_number=_sender_for(session, template), department=template.department or "",
        status="preview", content_valid_until=template.valid_until, params={},
        created_at=now, updated_at=now,
    )  # fmt: skip


def _chains_for(
    chains: Sequence[Sequence[str]] | None, job: Job | None, variants: dict[str, ChannelVariant]
) -> list[tuple[str, list[str]]]:
    named: list[tuple[str, list[str]]] = []
    if chains is not None:
        named = [(f"chains[{i}]", list(c)) for i, c in enumerate(chains)]
    elif job is not None:
        named = [(f"routes[{k}]", list(v)) for k, v in (job.routes or {}).items()]
    result = []
    for where, chain in named:
        if not chain:
            raise PreviewError(f"{where}: empty fallback chain")
        for channel in chain:
            if channel not in variants:
                raise PreviewError(f"{where}: the content item has no {channel!r} variant")
        label = " → ".join(chain)
        result.append((label if chains is not None else f"{where[7:-1]}: {label}", chain))
    return result


def _item(
    session: Session, code: str, version: int | None, job: Job | None
) -> tuple[Template, ItemView]:
    template = session.scalars(select(Template).where(Template.code == code)).first()
    if template is None:
        raise PreviewError(f"code: no content item {code!r}")
    if job is not None and job.template_id != template.id:
        raise PreviewError(f"job_id: job {job.job_id!r} does not send content item {code!r}")
    latest = session.scalar(
        select(func.max(TemplateVersion.version)).where(TemplateVersion.template_id == template.id)
    )
    chosen = version if version is not None else (job.template_version if job else latest)
    status = session.scalars(
        select(TemplateVersion.status).where(
            TemplateVersion.template_id == template.id, TemplateVersion.version == chosen
        )
    ).first()
    if status is None:
        raise PreviewError(
            f"version: content item {code!r} has no version {chosen} (latest {latest})"
        )
    return template, ItemView(
        code=template.code, name=template.name, version=int(chosen or 0), status=status,
        purpose=template.purpose, department=template.department,
        content_type=template.content_type, service_code=template.service_code,
        valid_from=template.valid_from, valid_until=template.valid_until,
        approval_ids=dict(template.approval_ids or {}),
    )  # fmt: skip


def _customers(session: Session, customer_ids: Sequence[str]) -> list[Customer]:
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        raise PreviewError("customer_ids: give at least one sample customer")
    if len(ids) > MAX_CUSTOMERS:
        raise PreviewError(f"customer_ids: {len(ids)} customers, a preview shows {MAX_CUSTOMERS}")
    found = []
    for cid in ids:
        customer = session.get(Customer, cid)
        if customer is None:
            raise PreviewError(f"customer_ids: no customer {cid!r}")
        found.append(customer)
    return found


def build_preview(
    session: Session,
    *,
    code: str,
    version: int | None = None,
    customer_ids: Sequence[str],
    chains: Sequence[Sequence[str]] | None = None,
    job_id: str | None = None,
    now: datetime | None = None,
    settings: Settings,
) -> Preview:
    """Render every variant of the version and every leg of each chain (``chains``, else
    the job's routes) for each sample customer. Reads only; raises ``PreviewError``."""
    job = session.get(Job, job_id) if job_id is not None else None
    if job_id is not None and job is None:
        raise PreviewError(f"job_id: no job {job_id!r}")
    template, item = _item(session, code, version, job)
    stored = template_variants(session, template.id, item.version)
    # In the platform's channel order, whatever order the rows were read in.
    variants = {c: stored[c] for c in sorted(stored, key=_CHANNEL_ORDER.index)}
    named_chains = _chains_for(chains, job, variants)
    sample = _customers(session, customer_ids)
    send_job = job if job is not None else transient_job(session, template, item.version)
    now = now or utcnow()
    today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
    renderer = renderer_for(session, settings, send_job, now)
    # A preview of a real job renders the real messages' keys: an open pixel here would
    # record a staff member's look at the page as the customer's open.
    renderer.opens = None
    views, links = [], 0
    for customer in sample:

        def leg(chain: list[str], i: int, who: Customer = customer) -> LegView:
            nonlocal links
            row, made = _render_leg(
                send_job, variants[chain[i]], who, chain, i, now, today, renderer
            )
            links += made
            return leg_view(send_job, row)

        legs = [tuple(leg(chain, i) for i in range(len(chain))) for _, chain in named_chains]
        views.append(
            CustomerView(
                customer_id=customer.customer_id,
                name=mask_name(customer.name) if customer.name else "-",
                phone=mask_phone(customer.phone) if customer.phone else None,
                email=mask_email(customer.email) if customer.email else None,
                push_platform=customer.push_platform,
                variants=tuple(leg([channel], 0) for channel in variants),
                chains=tuple(
                    ChainView(label, tuple(chain), chain_legs)
                    for (label, chain), chain_legs in zip(named_chains, legs, strict=True)
                ),
            )
        )
    preview = Preview(
        item=item, job_id=job_id, sender_number=send_job.sender_number, generated_at=now,
        customers=tuple(views), images={}, timezone=settings.timezone, short_links=links,
    )  # fmt: skip
    preview.images.update(inline_images(ContentStore(settings.content_dir), preview.legs))
    return preview


def render_preview_html(preview: Preview) -> str:
    """The page: self-contained HTML (inline CSS, no script), message text autoescaped."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # message text is customer-facing data, never trusted as markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    zone = ZoneInfo(preview.timezone)
    env.filters["num"] = lambda value: f"{value:,}"
    # Times as the bank reads them: in its business zone, with the zone's name.
    env.filters["when"] = lambda value: (
        "-" if value is None else as_utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    )
    return env.get_template("preview.html.j2").render(preview=preview)
