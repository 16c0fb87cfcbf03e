"""Compliance settings: approvals, stage checks, the advertising rules of the Information and
Communications Network Act art. 50, frequency caps, content review and the review hook.

A mixin of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``).
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

__all__ = ["ComplianceSettings"]


def _caps_of(**caps: int | None) -> dict[str, int | None]:
    return caps


class ComplianceSettings(BaseModel):
    """Who must approve what, and the legal and bank rules every send is checked against."""

    approval_threshold: int = Field(
        default=10_000,
        ge=0,
        description="A bulk job with more targets than this needs the department head's"
        " approval (four-eyes); every advertising job needs it whatever its size.",
    )
    realtime_ad_approval: bool = Field(
        default=True,
        description="Real-time advertising (a standing job of an advertising template)"
        " is sent only after the owning department head approved that standing job,"
        " once per content version, routes and sender.",
    )

    # Stage checks after target extraction (compliance.stages): a block stops the job
    # from being approved or sent until it is fixed or an approver acknowledges it.
    plan_deviation_warn: float = Field(
        default=0.2,
        ge=0,
        description="|targets - planned| / planned above this flags a warning.",
    )
    plan_deviation_block: float = Field(
        default=0.5,
        ge=0,
        description="|targets - planned| / planned above this blocks the job.",
    )
    budget_required: bool = Field(
        default=False,
        description="A department without a budget row for the month is blocked (false:"
        " such a department's jobs are not checked against a budget).",
    )

    # The advertising night rule (Information and Communications Network Act art. 50),
    # in Korea time (``timezone``): compliance.night holds what may not go until the end.
    ad_night_start: time = Field(
        default=time(21, 0),
        description="From this time an advertisement goes only to a customer with a night"
        " consent for its channel (consent purpose night_ad); others are held, not dropped.",
    )
    ad_night_end: time = Field(
        default=time(8, 0), description="The advertising night ends: held messages go from here."
    )
    friendtalk_night_start: time = Field(
        default=time(20, 0),
        description="No FriendTalk or brand message from this time, whatever the consent"
        " (check: some sources say 20:50).",
    )
    friendtalk_night_end: time = Field(
        default=time(8, 0), description="FriendTalk and brand messages may go again from here."
    )
    night_send_margin_s: float = Field(
        default=5.0,
        ge=0,
        le=600,
        description="A send checked this close before a ban begins is held too: the request"
        " may reach the provider after the boundary.",
    )

    # The other advertising rules of art. 50 (compliance.adrules, compliance.brandlimit).
    ad_consent_valid_days: int = Field(
        default=730,
        gt=0,
        description="An advertising consent counts for this many days after it was given"
        " (reconfirmed every 2 years); an older one is no consent (reason consent_expired).",
    )
    ad_transaction_exception: bool = Field(
        default=True,
        description="Customers of an actual transaction may get advertising of the same kind"
        " of goods (jobs.product_kind) without consent, for ad_transaction_exception_days.",
    )
    ad_transaction_exception_days: int = Field(
        default=183,
        ge=0,
        description="The exception's 6 months, in days: half a year (365 / 2, rounded up)."
        " Six calendar months run 181 to 184 days; set 181 to never pass the shortest.",
    )
    ad_reconfirm_notice_days: int = Field(
        default=30,
        gt=0,
        description="A reconfirmation notice goes this many days before an advertising"
        " consent reaches ad_consent_valid_days.",
    )
    brand_daily_limit: int = Field(
        default=1,
        ge=0,
        description="Brand messages (Kakao) per recipient per Korea-time day; one over it is"
        " not sent: failed with E-BRAND-DAILY, and the chain's next channel takes it.",
    )
    # Frequency caps (bank policy, not law; compliance/frequency.py): purpose -> most
    # messages per customer; a purpose absent or null is not capped.
    freq_cap_day: dict[str, int | None] = Field(
        default_factory=lambda: _caps_of(advertising=1),
        description='JSON {"purpose": max}: messages of a purpose per customer per Korea-time'
        " day across channels; a customer at it is suppressed (frequency_cap) at target"
        " extraction. Urgent-lane jobs and auth messages are exempt.",
    )
    freq_cap_week: dict[str, int | None] = Field(
        default_factory=lambda: _caps_of(advertising=3),
        description='JSON {"purpose": max}: the same over the 7 Korea-time days ending on'
        " the job's send day (a rolling week).",
    )
    suppress_duplicate_recipients: bool = Field(
        default=True,
        description="Within one job, a customer whose first-channel contact another target"
        " already has is suppressed (duplicate_recipient); off, the stage check only warns.",
    )
    optout_confirm_template: str | None = Field(
        default=None,
        description="Informational template the daily schedule sends opt-out confirmations"
        " with (within 14 days); unset, the schedule skips and ums optout due shows them.",
    )
    consent_reconfirm_template: str | None = Field(
        default=None,
        description="Informational template the daily schedule sends the 2-year advertising"
        " consent reconfirmation notices with; unset, the schedule skips.",
    )

    content_review_required: bool = Field(
        default=True,
        description="A content version is approved only after review (four-eyes on content).",
    )
    content_review_exempt_departments: list[str] = Field(
        default_factory=list,
        description="Departments whose content is approved without review (JSON list).",
    )
    content_rejection_reasons_file: Path | None = Field(
        default=None,
        description='JSON {"CODE": {"ko": ..., "en": ...}} adding or rewording rejection reasons'
        " (older name of UMS_REJECTION_REASONS_FILE; both are read).",
    )
    rejection_reasons_file: Path | None = Field(
        default=None,
        description='JSON {"CODE": {"ko": ..., "en": ...}} adding or rewording the rejection'
        " reasons of content review and job approval (compliance.reasons).",
    )

    # The bank's internal review-and-approval system (compliance.review_hook).
    review_url: str | None = Field(
        default=None,
        description="URL the review requests are POSTed to (HMAC-signed); unset: requests"
        " are written as files into review_outbox_dir.",
    )
    review_secret: str | None = Field(
        default=None,
        description="HMAC-SHA256 key signing requests and verifying callbacks; from the"
        " environment (UMS_REVIEW_SECRET) only, never a file in the repository.",
    )
    review_outbox_dir: Path | None = Field(
        default=None, description="Where request files go; default UMS_HOME/review/outbox."
    )
    review_inbox_dir: Path | None = Field(
        default=None, description="Where decision files arrive; default UMS_HOME/review/inbox."
    )
    review_trust_external: bool = Field(
        default=False,
        description="An approval from the review system counts even when its approver holds"
        " no approver role in UMS; by default they must hold it for the job's department.",
    )
    review_hook_host: str = Field(default="127.0.0.1", description="Callback server address.")
    review_hook_port: int = Field(
        default=8960, ge=1, le=65535, description="Port the review callback server listens on."
    )

    @field_validator("freq_cap_day", "freq_cap_week")
    @classmethod
    def _caps(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        for purpose, cap in value.items():
            if purpose not in ("informational", "advertising"):
                raise ValueError(
                    f"{purpose!r}: a cap is set per purpose, informational or advertising"
                    " (authentication messages are never capped)"
                )
            if cap is not None and cap < 0:
                raise ValueError(f"{purpose!r}: {cap} must be 0 or more (null: no cap)")
        return value
