"""The one managed list of rejection reasons, shared by content review and job approval.

Each reason has a code (what the audit log, the review system and reports carry) and a
Korean and an English text (what the author reads). The built-in list covers both a
content version's review and a job's approval; a bank adds or rewords reasons with a
JSON file ``{"CODE": {"ko": "...", "en": "..."}}`` named by ``UMS_REJECTION_REASONS_FILE``
(``UMS_CONTENT_REJECTION_REASONS_FILE``, its older name, still works; when both are set
both are read, the new one last). A rejection needs a code of the list; ``OTHER`` needs
a note saying why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ums_pipelines.settings import Settings, get_settings

__all__ = [
    "OTHER",
    "REJECTION_REASONS",
    "Reason",
    "check_reason",
    "rejection_reasons",
]

OTHER = "OTHER"
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
    # Content review: what is wrong with a version's text.
    Reason("AD_LABEL", "광고 표시 누락: 광고는 '(광고)'로 시작해야 합니다",
           "advertising label missing: an advertisement starts with (광고)"),
    Reason("OPT_OUT", "무료 수신거부(080) 안내 누락", "free opt-out (080) notice missing"),
    Reason("PII", "개인정보가 포함되어 있습니다", "personal data in the content or attachments"),
    Reason("FORBIDDEN", "금지어 또는 부적절한 표현", "forbidden or inappropriate wording"),
    Reason("CHANNEL", "채널 규격 위반 (길이, 버튼, 이미지 등)",
           "channel rules broken: length, buttons, images"),
    Reason("TONE", "어조·표현이 은행의 기준에 맞지 않습니다", "tone or style not the bank's"),
    Reason("FACTS", "금액·금리·기간 등 사실관계 오류", "facts wrong: amounts, rates, dates, terms"),
    Reason("LEGAL", "법규 위반 소지 (금융소비자보호법 등)",
           "legal risk: financial consumer protection rules"),
    # Job approval: what is wrong with a send as planned.
    Reason("AD_RULES", "광고 규정 미준수: (광고) 표시, 발신자, 무료 수신거부, 야간 시간대",
           "advertising rules not met: (광고) label, sender, free opt-out, night window"),
    Reason("CONTENT", "내용 오류 또는 오해 소지: 금액, 금리, 날짜, 조건",
           "content wrong or misleading: amounts, rates, dates, terms"),
    Reason("WORDING", "금지어 또는 부적절한 표현", "forbidden or inappropriate wording"),
    Reason("TARGETS", "대상자 오류: 세그먼트, 계획과 크게 다른 건수, 중복",
           "target list wrong: segment, count far from the plan, duplicates"),
    Reason("SCHEDULE", "발송 시간대 또는 시점이 적절하지 않습니다",
           "send window or timing not acceptable"),
    Reason("SENDER", "발신번호 또는 프로필이 부서에 맞지 않습니다",
           "sender number or profile not appropriate for this department"),
    Reason("BUDGET", "부서 예산 초과", "cost over the department's budget"),
    Reason(OTHER, "기타 (메모 참조)", "other (the note says why)"),
)  # fmt: skip
REJECTION_REASONS: dict[str, Reason] = {r.code: r for r in _BUILT_IN}


def _reasons_file(path: Path) -> dict[str, Reason]:
    where = f"rejection_reasons_file: {path}"
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


def rejection_reasons(settings: Settings | None = None) -> dict[str, Reason]:
    """The managed list: the built-in reasons, then the files' (which may reword them)."""
    settings = settings or get_settings()
    reasons = dict(REJECTION_REASONS)
    for path in (settings.content_rejection_reasons_file, settings.rejection_reasons_file):
        if path is not None:
            reasons.update(_reasons_file(path))
    return reasons


def check_reason(
    code: str | None,
    note: str | None = None,
    settings: Settings | None = None,
    *,
    field: str = "reason_code",
) -> Reason:
    """The listed reason of a rejection, or ValueError naming the field and why."""
    reasons = rejection_reasons(settings)
    if not code or not code.strip():
        raise ValueError(f"{field}: a rejection needs one of {', '.join(reasons)}")
    if code not in reasons:
        raise ValueError(f"{field}: {code!r} is not one of {', '.join(reasons)}")
    if code == OTHER and not (note and note.strip()):
        raise ValueError("note: a rejection for OTHER needs a note saying why")
    return reasons[code]
