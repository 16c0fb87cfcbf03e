"""extract_targets restricted to candidates (a segment's or an uploaded file's ids): one
path for suppression, counts, freeze and audit; ids that are no customer are not_found."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from ums_pipelines.store.models import AuditLog, Job
from ums_pipelines.targets import NOT_FOUND, extract_targets, read_targets, targets_path


@pytest.mark.parametrize("shape", ["set", "frame", "series", "many"])
def test_candidates_restrict_and_count(bank: Any, shape: str) -> None:
    for i in range(6):
        bank.add_customer(f"C{i}", phone=f"010{30000000 + i:08d}")
    bank.add_customer("D0", deceased=True)
    bank.add_customer("N0", phone=None)
    job_id = bank.register(routes={"sms": ["sms"]})
    ids = ["C1", "C3", "D0", "N0", "X9", "X8", "C3"]
    if shape == "many":  # past the by-key lookup: filtered while scanning
        ids += [f"Z{i:05d}" for i in range(1_200)]
    candidates: Any = {
        "set": set(ids),
        "frame": pl.DataFrame({"customer_id": ids}),
        "series": pl.Series(ids),
        "many": ids,
    }[shape]
    result = extract_targets(
        bank.store, bank.settings, job_id, candidates=candidates, source={"kind": "test"}
    )
    assert sorted(read_targets(bank.settings, job_id)["customer_id"].to_list()) == ["C1", "C3"]
    not_found = 2 + (1_200 if shape == "many" else 0)
    assert result.suppressed == {"deceased": 1, "no_contact": 1, NOT_FOUND: not_found}
    assert result.targets + sum(result.suppressed.values()) == len(set(ids))
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.target_count == 2 and job.status == "targeted"
        detail = session.scalars(
            select(AuditLog.detail).where(AuditLog.action == "job.targets_frozen")
        ).one()
    assert detail["source"] == {"kind": "test"} and detail[NOT_FOUND] == not_found


def test_dry_run_freezes_nothing(bank: Any) -> None:
    for i in range(3):
        bank.add_customer(f"C{i}", phone=f"010{30000000 + i:08d}")
    job_id = bank.register(routes={"sms": ["sms"]})
    result = extract_targets(
        bank.store, bank.settings, job_id, candidates=["C0", "Q"], dry_run=True
    )
    assert (result.targets, result.suppressed, result.frozen) == (1, {NOT_FOUND: 1}, False)
    assert not targets_path(bank.settings, job_id).exists()
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.target_count is None and job.status == "registered"
        assert (
            session.scalars(
                select(AuditLog.id).where(AuditLog.action == "job.targets_frozen")
            ).first()
            is None
        )


def test_frame_without_customer_id_refused(bank: Any) -> None:
    job_id = bank.register()
    with pytest.raises(ValueError, match="candidates: the frame has no customer_id column"):
        extract_targets(bank.store, bank.settings, job_id, candidates=pl.DataFrame({"id": ["a"]}))
