"""Times written with any zone read back as the same instant, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ums_pipelines.jobs import SendPlan
from ums_pipelines.store import Store
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Job

KST = timezone(timedelta(hours=9))


def test_a_korea_time_window_reads_back_as_the_same_instant(bank: object, store: Store) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=KST)
    end = datetime(2026, 12, 1, 18, 0, tzinfo=KST)
    job_id = bank.register(plan=SendPlan(not_before=start, must_end_by=end))  # type: ignore[attr-defined]
    with store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.not_before is not None and job.expires_at is not None
        assert as_utc(job.not_before) == start.astimezone(UTC)
        assert as_utc(job.expires_at) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
