"""Per-recipient values of a content item's declared variables, and its short links.

One ``Renderer`` is built per job (its schema, job fields, phrases, link settings) and
gives each recipient's variables: customer fields checked against their declaration
(required, type, maximum length, default, masking), job fields, and the special slots —
a short link per recipient and URL, a feedback link, a phrase, an image. A value that is
missing or wrong fails that recipient with a reason naming the tag, never the job.

Short links are created with the message: their rows travel with the rendered outbox
row (``LINKS_KEY``) and are written in the same transaction, keyed by the message's
idempotency key and the URL's position, so a re-rendered message gets no second link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ums_pipelines.channels.payload import Image, Payload
from ums_pipelines.content.spec import JOB_FIELDS, LEGACY_SPECS, VariableKind, VariableSpec
from ums_pipelines.masking import mask_email, mask_name, mask_phone
from ums_pipelines.templates import TemplateError, render, variables_in

__all__ = [
    "LINKS_KEY",
    "LinkSettings",
    "PhrasePicker",
    "Renderer",
    "shorten_payload",
    "take_links",
]

LINKS_KEY = "_links"  # a rendered row's short links, popped before the row is inserted

# A URL in message text; closing brackets and quotes end it (Korean text often wraps
# links in parentheses).
_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}（）]+")
_HREF = re.compile(r"(href\s*=\s*[\"'])(https?://[^\"'\s<>]+)", re.IGNORECASE)

PhrasePicker = Callable[[str | None, date, str], str | None]
ImageLookup = Callable[[str], Image]


@dataclass(frozen=True)
class LinkSettings:
    base_url: str  # what goes into the message: short, e.g. https://bnk.kr/
    ttl: timedelta
    feedback_url: str
    shorten_all: bool = False  # every URL of every content area, not only the slots

    @property
    def image_base(self) -> str:
        return f"{self.base_url.rstrip('/')}/i/"


def _mask(kind: str, value: str) -> str:
    if kind == "name":
        return mask_name(value)
    if kind == "phone":
        return mask_phone(value)
    if kind == "email":
        return mask_email(value)
    digits = re.sub(r"\D", "", value)
    if kind == "card":  # the last four, as card statements show them
        return f"****-****-****-{digits[-4:]}"
    if kind == "account":  # first three and last three, as bank notices show them
        return digits[:3] + "*" * max(len(digits) - 6, 0) + digits[-3:]
    return value


def _typed(spec: VariableSpec, value: str) -> str:
    try:
        if spec.type == "int":
            int(value.replace(",", ""))
        elif spec.type == "decimal":
            Decimal(value.replace(",", ""))
        elif spec.type == "date":
            date.fromisoformat(value)
    except (ValueError, InvalidOperation):
        raise TemplateError(f"{spec.name}: {value!r} is not of type {spec.type}") from None
    if spec.type == "url" and not value.startswith(("https://", "http://")):
        raise TemplateError(f"{spec.name}: not an http(s) URL")
    return value


@dataclass
class _Links:
    """The links of one message being rendered, numbered in the order they appear."""

    message_key: str
    job_id: str
    customer_id: str
    now: datetime
    settings: LinkSettings
    rows: list[dict[str, Any]] = field(default_factory=list)

    def make(self, target: str, kind: str) -> str:
        from ums_pipelines.shortlinks.store import link_row, short_url

        row = link_row(
            message_key=self.message_key,
            position=len(self.rows),
            kind=kind,
            job_id=self.job_id,
            customer_id=self.customer_id,
            target_url=target,
            now=self.now,
            expires_at=self.now + self.settings.ttl,
        )
        self.rows.append(row)
        return short_url(self.settings.base_url, row["code"])

    def shorten(self, text: str) -> str:
        base = self.settings.base_url
        return _URL.sub(
            lambda m: m.group(0) if m.group(0).startswith(base) else self.make(m.group(0), "link"),
            text,
        )

    def shorten_html(self, html: str) -> str:
        base = self.settings.base_url

        def one(m: re.Match[str]) -> str:
            url = m.group(2)
            return m.group(0) if url.startswith(base) else m.group(1) + self.make(url, "link")

        return _HREF.sub(one, html)


class Renderer:
    """A job's way of filling its content's tags; ``legacy`` is the bulk hot path."""

    def __init__(
        self,
        specs: Sequence[VariableSpec],
        job_values: Mapping[str, Any],
        day: date,
        links: LinkSettings | None = None,
        phrases: PhrasePicker | None = None,
        occasion: str | None = None,
        images: ImageLookup | None = None,
    ) -> None:
        self.specs = tuple(specs)
        self.job_values = dict(job_values)
        self.day, self.links, self.phrases, self.occasion = day, links, phrases, occasion
        self.images = images
        self.legacy = all(LEGACY_SPECS.get(s.name) == s for s in self.specs) and not (
            links is not None and links.shorten_all
        )
        self._image_cache: dict[str, Image] = {}
        self._used: dict[str, frozenset[str]] = {}
        # customer id -> one-click unsubscribe URL, for an advertising job's e-mails.
        self.unsubscribe: Callable[[str], str] | None = None
        # message key -> open-tracking address, for e-mails and pushes (shortlinks/opens.py).
        self.opens: Callable[[str], str] | None = None

    def with_params(self, values: Mapping[str, str]) -> Renderer:
        """The same renderer for one real-time request, its own values over the job's."""
        if not values:
            return self
        job_values = {**self.job_values, "params": {**self.job_values.get("params", {}), **values}}
        other = Renderer(
            self.specs, job_values, self.day, self.links, self.phrases, self.occasion, self.images
        )
        other.legacy, other.unsubscribe = self.legacy, self.unsubscribe
        other.opens = self.opens
        return other

    def _plain(self, spec: VariableSpec, customer: Any) -> str | None:
        if spec.kind is VariableKind.CUSTOMER:
            raw = getattr(customer, spec.source_field, None)
        else:
            source = spec.source_field
            raw = self.job_values.get(source) if source in JOB_FIELDS else None
            if raw is None:
                raw = (self.job_values.get("params") or {}).get(source)
        return None if raw is None or raw == "" else str(raw)

    def _value(self, spec: VariableSpec, customer: Any, links: _Links | None) -> str:
        kind = spec.kind
        if kind is VariableKind.PHRASE:
            occasion = spec.occasion or self.occasion
            value = self.phrases(occasion, self.day, customer.customer_id) if self.phrases else None
        elif kind is VariableKind.IMAGE:
            assert spec.choices is not None
            key = self._plain(spec, customer) or "default"
            ref = spec.choices.get(key) or spec.choices.get("default")
            if ref is None:
                raise TemplateError(f"{spec.name}: no image for {key!r} and no default")
            value = (self.links.image_base if self.links else "") + ref
        elif kind in (VariableKind.SHORT_URL, VariableKind.FEEDBACK_URL):
            value = None  # made after the plain values: a link's target may use them
        else:
            value = self._plain(spec, customer)
        if value is None:
            if spec.default is not None:
                return spec.default
            if spec.required:
                raise TemplateError(f"{spec.name}: no value for this customer ({kind.value})")
            return ""
        value = _typed(spec, value)
        if spec.max_length is not None and len(value) > spec.max_length:
            raise TemplateError(
                f"{spec.name}: {len(value)} characters, over its max_length {spec.max_length}"
            )
        return _mask(spec.mask, value) if spec.mask != "none" else value

    def used_by(self, channel: str, sources: Sequence[str]) -> frozenset[str]:
        """The variables a variant's strings use, with what its links' targets use: only
        those are filled, so a value a channel does not show cannot fail it, and a link
        is made only where it is sent."""
        if channel not in self._used:
            names: set[str] = set()
            for source in sources:
                names |= variables_in(source)
            for spec in self.specs:
                if spec.name in names and spec.target:
                    names |= variables_in(spec.target)
            self._used[channel] = frozenset(names)
        return self._used[channel]

    def variables(
        self, customer: Any, links: _Links | None, used: frozenset[str] | None = None
    ) -> dict[str, str]:
        """The declared variables for one recipient (those in ``used``, if given);
        ``TemplateError`` names the tag."""
        values: dict[str, str] = {}
        later: list[VariableSpec] = []
        for spec in self.specs:
            if used is not None and spec.name not in used:
                continue
            if spec.kind in (VariableKind.SHORT_URL, VariableKind.FEEDBACK_URL):
                later.append(spec)
            else:
                values[spec.name] = self._value(spec, customer, links)
        for spec in later:
            if links is None:
                raise TemplateError(f"{spec.name}: short links are not configured")
            if spec.kind is VariableKind.SHORT_URL:
                assert spec.target is not None
                target = render(f"{spec.name}.target", spec.target, values)
                _typed(spec.model_copy(update={"type": "url"}), target)
                values[spec.name] = links.make(target, "link")
            else:
                values[spec.name] = links.make(links.settings.feedback_url, "feedback")
        return values

    def message_links(
        self, message_key: str, job_id: str, customer_id: str, now: datetime
    ) -> _Links | None:
        if self.links is None:
            return None
        return _Links(message_key, job_id, customer_id, now, self.links)

    def image(self, ref: str) -> Image:
        if ref not in self._image_cache:
            if self.images is None:
                raise TemplateError(f"images: no content store to read {ref}")
            self._image_cache[ref] = self.images(ref)
        return self._image_cache[ref]

    def substitute_images(self, payload: Payload, values: Mapping[str, str]) -> Payload:
        """Images whose ref is ``slot:<variable>`` become that variable's chosen image."""
        if not any(i.ref.startswith("slot:") for i in payload.images):
            return payload
        base = self.links.image_base if self.links else ""
        images = []
        for i, image in enumerate(payload.images):
            if not image.ref.startswith("slot:"):
                images.append(image)
                continue
            name = image.ref[5:]
            if name not in values:
                raise TemplateError(f"payload.images[{i}].ref: no image variable {name!r}")
            chosen = self.image(values[name].removeprefix(base))
            images.append(chosen.model_copy(update={"link": image.link}))
        return payload.model_copy(update={"images": images})


def shorten_payload(links: _Links, payload: Payload) -> Payload:
    """Every link of the payload's buttons and images, shortened per recipient."""
    if not payload.buttons and not any(i.link for i in payload.images):
        return payload
    buttons = [
        b.model_copy(
            update={
                name: links.shorten(getattr(b, name))
                for name in ("url_mobile", "url_pc")
                if getattr(b, name)
            }
        )
        for b in payload.buttons
    ]
    images = [
        i.model_copy(update={"link": links.shorten(i.link)}) if i.link else i
        for i in payload.images
    ]
    return payload.model_copy(update={"buttons": buttons, "images": images})


def take_links(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pop the short-link rows off rendered outbox rows, for the same transaction."""
    found: list[dict[str, Any]] = []
    for row in rows:
        found.extend(row.pop(LINKS_KEY, ()))
    return found
