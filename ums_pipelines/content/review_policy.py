"""The rules of content review: whether a department's content needs it, the managed
list of rejection reasons, who may decide, and the decisions' records.

The content bank (``bank.approve_version``) and the review workflow (``review.py``) both
read these, so the approval gate and the review cannot disagree about a department.

Settings (``ums_pipelines.settings.Settings``):

- ``UMS_CONTENT_REVIEW_REQUIRED`` (default true): a version is approved only after it
  passed review; the author can no longer approve their own content on adding it.
- ``UMS_CONTENT_REVIEW_EXEMPT_DEPARTMENTS`` (JSON list, default empty): departments whose
  content is approved without review.
- ``UMS_CONTENT_REJECTION_REASONS_FILE``: a JSON file adding (or rewording) rejection
  reasons: ``{"CODE": {"ko": "...", "en": "..."}}``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.compliance.roles import ALL_DEPARTMENTS, has_role
from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import TemplateVersion

__all__ = [
    "APPROVER",
    "ENTITY",
    "REJECTION_REASONS",
    "REVIEWER",
    "Reason",
    "content_fingerprint",
    "department_of",
    "holds_role",
    "record_decision",
    "rejection_reasons",
    "review_required",
]

ENTITY = "content"  # approvals.entity of content decisions (jobs' are "job")
REVIEWER, APPROVER = "reviewer", "approver"
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")


@dataclass(frozen=True)
class Reason:
    """A rejection reason as the author reads it, in Korean and in English."""

    code: str
    ko: str
    en: str

    @property
    def text(self) -> str:
        return f"{self.ko} / {self.en}"


_BUILT_IN = (
    Reason("AD_LABEL", "광고 표시 누락: 광고는 '(광고)'로 시작해야 합니다",
           "advertising label missing: an advertisement starts with (광고)"),
    Reason("OPT_OUT", "무료 수신거부(080) 안내 누락", "free opt-out (080) notice missing"),
    Reason("PII", "개인정보가 포함되어 있습니다", "personal data in the content"),
    Reason("FORBIDDEN", "금지어 또는 부적절한 표현", "forbidden or inappropriate wording"),
    Reason("CHANNEL", "채널 규격 위반 (길이, 버튼, 이미지 등)",
           "channel rules broken: length, buttons, images"),
    Reason("TONE", "어조·표현이 은행의 기준에 맞지 않습니다", "tone or style not the bank's"),
    Reason("FACTS", "금액·금리·기간 등 사실관계 오류", "facts wrong: amounts, rates, dates, terms"),
    Reason("LEGAL", "법규 위반 소지 (금융소비자보호법 등)",
           "legal risk: financial consumer protection rules"),
    Reason("OTHER", "기타 (메모 참조)", "other (the note says why)"),
)  # fmt: skip
REJECTION_REASONS: dict[str, Reason] = {r.code: r for r in _BUILT_IN}


def _reasons_file(path: Path) -> dict[str, Reason]:
    where = f"content_rejection_reasons_file: {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{where}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be an object of CODE -> {{ko, en}}")
    found: dict[str, Reason] = {}
    for code, texts in data.items():
        if not _CODE.match(code):
            raise ValueError(f"{where}: {code!r} is not an upper-case code (A-Z, 0-9, _)")
        if not isinstance(texts, dict) or not all(
            isinstance(texts.get(k), str) and texts[k].strip() for k in ("ko", "en")
        ):
            raise ValueError(f"{where}: {code}: needs non-empty 'ko' and 'en' texts")
        found[code] = Reason(code, texts["ko"].strip(), texts["en"].strip())
    return found


def rejection_reasons(review: Settings | None = None) -> dict[str, Reason]:
    """The managed list: the built-in reasons, then the file's (which may reword them)."""
    review = review or get_settings()
    reasons = dict(REJECTION_REASONS)
    if review.content_rejection_reasons_file is not None:
        reasons.update(_reasons_file(review.content_rejection_reasons_file))
    return reasons


def review_required(department: str | None, review: Settings | None = None) -> bool:
    review = review or get_settings()
    if not review.content_review_required:
        return False
    return department is None or department not in review.content_review_exempt_departments


def department_of(department: str | None) -> str:
    """The department roles are checked in: an item without one needs a '*' holder."""
    return department or ALL_DEPARTMENTS


def holds_role(session: Session, actor: str, roles: tuple[str, ...], department: str) -> bool:
    return any(has_role(session, actor, role, department) for role in roles)


def content_fingerprint(session: Session, template_id: int, version: int) -> str:
    """sha256 of a version's content (schema and every variant), what a decision is on."""
    rows = session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template_id, TemplateVersion.version == version)
        .order_by(TemplateVersion.channel)
    )
    content = [
        [r.channel, r.subject, r.body, r.html_body, r.provider_template_code, r.payload]
        for r in rows
    ]
    stored = session.scalars(
        select(TemplateVersion.variables).where(
            TemplateVersion.template_id == template_id, TemplateVersion.version == version
        )
    ).first()
    text = json.dumps([stored, content], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def record_decision(
    session: Session,
    *,
    template_id: int,
    code: str,
    version: int,
    actor: str,
    role: str,
    decision: str,
    reason: str | None = None,
) -> Approval:
    """One reviewer's or approver's decision on a content version (``approvals`` row)."""
    row = Approval(
        entity=ENTITY,
        entity_id=code,
        content_version=version,
        target_count=None,
        fingerprint=content_fingerprint(session, template_id, version),
        role=role,
        decided_by=actor,
        decision=decision,
        reason=reason,
        decided_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row
