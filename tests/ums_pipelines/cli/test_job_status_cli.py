"""`ums job status JOB`: what is left, as a table or JSON; exit 3 while work is open,
0 when the job has nothing left, 2 for an unknown job."""

from __future__ import annotations

import json
import re
from typing import Any

from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.dispatch.bulk import plan_chunks
from ums_pipelines.store.models import Job


def invoke(bank: Any, *args: str, code: int) -> str:
    s = bank.settings
    env = {"UMS_HOME": str(s.home), "UMS_DATABASE_URL": s.store_url, "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["job", "status", *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_status_of_a_planned_job_lists_every_unwritten_target(bank: Any) -> None:
    bank.add_mixed(25)
    job_id = str(bank.targeted())
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.chunk_size = 10
    plan_chunks(bank.store, job_id)

    body = json.loads(invoke(bank, job_id, "--json", code=3))
    assert body["job_id"] == job_id and body["targets"] == 25
    assert [(i["kind"], i["count"]) for i in body["left"]] == [("unwritten", 25)]
    assert body["open_items"] == 25
    assert body["next_step"] == f"ums dispatch {job_id} (continues where it stopped, same keys)"

    text = " ".join(invoke(bank, job_id, code=3).split())
    assert re.search(r"unwritten\W+25\b", text) and f"next: ums dispatch {job_id}" in text


def test_status_of_an_unknown_job(bank: Any) -> None:
    assert "no job nope" in invoke(bank, "nope", code=2)
