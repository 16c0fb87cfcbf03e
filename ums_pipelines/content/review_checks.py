"""The automated checks of a content review: PII, forbidden words, channel rules and
advertising rules, over every variant's strings and over each variant rendered for a
synthetic sample customer.

- PII and forbidden words read the source strings (body, subject, HTML, every templated
  payload string) and the variables' literal defaults and link targets. A tag
  (``{{ name }}``) is not a value; a number in the sender registry is the bank's own.
- Every templated string of a variant must use declared variables only, and no empty
  tag (``{{ }}``): registration refuses both, the review checks again what was stored
  (an older version, a row written around the bank), naming the field and the tag.
- Each variant is rendered by compose (``compose_row``) for a transient job, as the
  preview renders it, with values built from the variable schema (its defaults, else a
  sample of its type), and checked as compose checks it (``check_leg``): lengths,
  buttons, images, the "(광고)" label and the 080 opt-out. Forbidden words are looked for
  in the rendered text too (a phrase or a default can bring one in). PII is not: the
  values in a rendered sample are synthetic or the job's.

A finding carries masked values only: it can be printed, returned and audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.channels.checks import CheckResult, Code
from ums_pipelines.channels.payload import CHANNELS, Payload
from ums_pipelines.channels.rendering import templated_strings
from ums_pipelines.compliance import words
from ums_pipelines.compliance.pii.scan import scan_content
from ums_pipelines.content.plan import renderer_for
from ums_pipelines.content.preview import transient_job
from ums_pipelines.content.render import LINKS_KEY
from ums_pipelines.content.spec import JOB_FIELDS, VariableKind, VariableSpec, specs_from
from ums_pipelines.dispatch.compose import check_leg, compose_row
from ums_pipelines.jobs import ChannelVariant, template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import SenderNumber, Template, TemplateVersion
from ums_pipelines.templates import TemplateError, check_template

__all__ = [
    "AD_CODES",
    "ReviewFinding",
    "SampleCustomer",
    "review_findings",
    "sample_values",
    "source_strings",
]

# Channel violations that are the advertising law's, not the channel's format.
AD_CODES = frozenset({Code.AD_LABEL_MISSING, Code.AD_OPTOUT_MISSING, Code.PURPOSE_NOT_ALLOWED})
# The caller number is the job's, chosen at registration and checked there and at compose.
_SENDER_CODES = frozenset({Code.SENDER_INVALID, Code.RCS_SENDER_MOBILE})
RENDER = "RENDER"
_SAMPLE_BY_TYPE = {"str": "샘플", "int": "10000", "decimal": "3.5", "url": "https://example.com/"}


@dataclass(frozen=True)
class ReviewFinding:
    """One finding: ``kind`` tag | pii | forbidden | channel | advertising | render; ``code``
    the check's (KR_RRN, FORBIDDEN_WORD, AD_LABEL_MISSING...); ``field`` where it is;
    ``message`` the field and the reason, values masked."""

    kind: str
    code: str
    field: str
    message: str
    blocking: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "blocking": self.blocking,
        }


@dataclass(frozen=True)
class SampleCustomer:
    """A synthetic recipient: no contact data, so nothing personal is rendered."""

    customer_id: str = "SAMPLE01"
    name: str | None = "홍길동"
    branch: str | None = "본점"
    phone: str | None = None
    email: str | None = None
    push_token: str | None = None
    push_platform: str | None = "fcm"


def _sample(spec: VariableSpec, day: date, natural: str | None = None) -> str:
    if spec.default is not None:
        return spec.default
    value = day.isoformat() if spec.type == "date" else _SAMPLE_BY_TYPE.get(spec.type, "샘플")
    if spec.type == "str" and natural is not None:
        value = natural
    return value[: spec.max_length] if spec.max_length else value


def sample_values(specs: list[VariableSpec], day: date) -> tuple[SampleCustomer, dict[str, str]]:
    """The sample customer and the job params that fill every declared variable."""
    customer: dict[str, str] = {}
    params: dict[str, str] = {}
    for spec in specs:
        source = spec.source_field
        if spec.kind is VariableKind.CUSTOMER and source not in customer:
            customer[source] = _sample(spec, day, getattr(SampleCustomer(), source, None))
        elif spec.kind is VariableKind.JOB and source not in JOB_FIELDS:
            params.setdefault(source, _sample(spec, day))
        # An image variable without its field's value takes its "default" choice, and
        # the links, phrases and the job's own fields come from the transient job.
    return SampleCustomer(**customer), params


def source_strings(
    variants: dict[str, ChannelVariant], specs: list[VariableSpec]
) -> dict[str, str]:
    """Every string an author wrote, by field: what PII and forbidden words read."""
    fields: dict[str, str] = {}
    for channel, v in variants.items():
        for name, text in (("subject", v.subject), ("body", v.body), ("html_body", v.html_body)):
            if text:
                fields[f"variants[{channel}].{name}"] = text
        if v.payload is not None:
            for path, text in templated_strings(v.payload):
                fields[f"variants[{channel}].payload.{path}"] = text
    for spec in specs:
        for name in ("default", "target"):
            text = getattr(spec, name)
            if text:
                fields[f"variables[{spec.name}].{name}"] = text
    return fields


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _pii(session: Session, fields: dict[str, str]) -> list[ReviewFinding]:
    own = {_digits(n) for n in session.scalars(select(SenderNumber.number))}
    found = []
    for hit in scan_content(fields):
        finding = hit.finding
        if finding.type == "PHONE" and _digits(finding.text) in own:
            continue  # a registered caller number is the bank's, not a person's
        message = f"{hit.field}: {finding.type} {finding.masked} (personal data)"
        found.append(ReviewFinding("pii", finding.type, hit.field, message))
    return found


def _tags(fields: dict[str, str], specs: list[VariableSpec]) -> list[ReviewFinding]:
    """Empty and undeclared personalisation tags in the variants' strings."""
    declared = [spec.name for spec in specs]
    found = []
    for field, text in fields.items():
        if not field.startswith("variants["):
            continue  # a variable's default and link target are literal values
        try:
            check_template(field, text, declared)
        except TemplateError as exc:
            message = str(exc)
            if "empty personalisation tag" in message:
                code = "EMPTY_TAG"
            elif "not declared" in message:
                code = "UNDECLARED_TAG"
            else:
                code = "TEMPLATE_INVALID"
            found.append(ReviewFinding("tag", code, field, message))
    return found


def _forbidden(
    session: Session, department: str | None, fields: dict[str, str], seen: set[str]
) -> list[ReviewFinding]:
    found = []
    for violation in words.check_content(session, department, fields):
        field, _, reason = violation.message.partition(": ")
        # The same word in the source and its rendering is one finding, at the source.
        key = f"{field.split('.')[0]}|{reason}"
        if key in seen:
            continue
        seen.add(key)
        found.append(ReviewFinding("forbidden", violation.code, field, violation.message))
    return found


def _channel(channel: str, result: CheckResult, own_sender: bool) -> list[ReviewFinding]:
    where = f"variants[{channel}]"
    found = []
    for v in result.violations:
        if v.code in _SENDER_CODES and not own_sender:
            continue
        kind = "advertising" if v.code in AD_CODES else "channel"
        found.append(ReviewFinding(kind, v.code, where, f"{where} rendered: {v.message}"))
    for w in result.warnings:
        message = f"{where} rendered: {w.message}"
        found.append(ReviewFinding("channel", w.code, where, message, blocking=False))
    return found


def review_findings(
    session: Session, template: Template, version: int, settings: Settings
) -> list[ReviewFinding]:
    """Every finding of the version's automated review, source checks first."""
    variants = template_variants(session, template.id, version)
    variants = {c: variants[c] for c in sorted(variants, key=list(CHANNELS).index)}
    stored = session.scalars(
        select(TemplateVersion.variables).where(
            TemplateVersion.template_id == template.id, TemplateVersion.version == version
        )
    ).first()
    specs = specs_from(stored or [])
    sources = source_strings(variants, specs)
    seen: set[str] = set()
    tags = _tags(sources, specs)
    findings = tags + _pii(session, sources)
    findings += _forbidden(session, template.department, sources, seen)
    if tags:  # no sample renders from a broken template: the tag findings say why
        return findings
    now = utcnow()
    today = now.astimezone(settings.tz).date()
    customer, params = sample_values(specs, today)
    job = transient_job(session, template, version)
    job.params = params  # before the renderer reads the job's values
    own_sender = bool((template.approval_ids or {}).get("sender_number"))
    renderer = renderer_for(session, settings, job, now)
    for channel, variant in variants.items():
        row, _ = compose_row(
            job, variant, customer, [channel], 0, now, today.isoformat(), renderer=renderer
        )
        row.pop(LINKS_KEY, None)  # a review's links are never written
        where = f"variants[{channel}]"
        if row["error_code"] == "E-RENDER":
            reason = f"{where}: cannot be rendered with sample values: {row['error_reason']}"
            findings.append(ReviewFinding("render", RENDER, where, reason))
            continue
        payload = Payload.from_json(row["payload"]) if row["payload"] else None
        result = check_leg(
            channel, row["message_type"], row["body"], row["subject"], payload, job, row["country"]
        )
        findings += _channel(channel, result, own_sender)
        rendered = {
            f"{where}.{name} (rendered)": row[key]
            for name, key in (("subject", "subject"), ("body", "body"), ("html_body", "html_body"))
            if row[key]
        }
        findings += _forbidden(session, template.department, rendered, seen)
    return findings
