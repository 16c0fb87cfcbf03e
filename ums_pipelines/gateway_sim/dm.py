"""The simulated print vendor: ``POST /dm/v1/batches`` takes a batch file and its PDF.

Multipart form fields ``batch`` (the fixed-width file of ``channels.dm``) and ``pdf``.
The vendor checks the two against each other before anything is printed: the trailer's
record count against the data records, its page total against the PDF's pages, and
each record's page range against the PDF. A batch failing these is refused whole (400);
otherwise each record is acknowledged or refused on its own (a postcode that is not a
Korean five-digit one, an empty address), and what is accepted is booked in the ledger.
"""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.channels.dm import DmError, parse_batch
from ums_pipelines.gateway_sim import codes, rules
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.records import NewMessage
from ums_pipelines.gateway_sim.wire import batch_result, relay_error

__all__ = ["DmVendor"]

# Request-level refusals (the whole batch) and per-record ones.
E_FORMAT, E_COUNT, E_PAGES = codes.DM_FORMAT, codes.DM_COUNT, codes.DM_PAGES
E_POSTCODE, E_ADDRESS = codes.DM_POSTCODE, codes.DM_ADDRESS
_POSTCODE = re.compile(r"\d{5}")

log = logging.getLogger(__name__)


class DmVendor:
    def __init__(self, config: SimConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger

    async def batches(self, request: Request) -> Response:
        async with request.form(max_files=2, max_part_size=64 * 1024 * 1024) as form:
            files = {k: v for k, v in form.items() if isinstance(v, UploadFile)}
            if set(files) != {"batch", "pdf"}:
                return relay_error(
                    400, E_FORMAT, "multipart fields batch and pdf required", "batch"
                )
            batch, pdf = await files["batch"].read(), await files["pdf"].read()
        try:
            records = parse_batch(batch)
        except DmError as exc:
            return relay_error(400, E_FORMAT, str(exc), "batch")
        problem = _framing(records)
        if problem is not None:
            return relay_error(400, E_FORMAT, problem, "batch")
        data = [values for kind, values in records if kind == "D"]
        trailer = records[-1][1]
        if int(trailer["records"]) != len(data):
            text = f"trailer counts {trailer['records']} records, the file has {len(data)}"
            return relay_error(400, E_COUNT, text, "batch")
        try:
            reader = PdfReader(io.BytesIO(pdf))
            pages = len(reader.pages)
        except (PdfReadError, ValueError, OSError):
            return relay_error(400, E_PAGES, "pdf: not a readable PDF", "pdf")
        if int(trailer["total_pages"]) != pages:
            text = f"trailer counts {trailer['total_pages']} pages, the PDF has {pages}"
            return relay_error(400, E_PAGES, text, "pdf")
        expected = 1
        for values in data:
            if int(values["first_page"]) != expected:
                text = f"record {values['seq']} starts on page {values['first_page']}"
                return relay_error(400, E_PAGES, f"{text}, expected {expected}", "batch")
            expected += int(values["pages"])
        return await self._book(records[0][1], data, reader)

    async def _book(
        self, header: dict[str, str], data: list[dict[str, str]], reader: PdfReader
    ) -> Response:
        decisions: list[tuple[str, rules.Rejection | NewMessage]] = []
        for values in data:
            key = values["key"]
            if _POSTCODE.fullmatch(values["postcode"]) is None:
                decisions.append((key, rules.Rejection(E_POSTCODE, "postcode is not 5 digits")))
                continue
            if not values["address"]:
                decisions.append((key, rules.Rejection(E_ADDRESS, "address is empty")))
                continue
            first = int(values["first_page"]) - 1
            text = reader.pages[first].extract_text() or ""
            # Paper is not "delivered to a handset": what fails is a letter sent back.
            delivered = rules.handset_outcome(self.config, key).delivered
            outcome = (
                rules.Outcome(True)
                if delivered
                else rules.Outcome(False, codes.DM_RETURNED, "returned to sender")
            )
            wire: dict[str, Any] = {"header": header, "record": values}
            decisions.append(
                (
                    key,
                    NewMessage(
                        client_key=key,
                        message_id=rules.message_id(self.config.seed, "dm", key),
                        channel="dm",
                        type="DM",
                        sender=header["sender"],
                        recipient=f"{values['postcode']} {values['address']}",
                        subject=None,
                        body=text[:2000],
                        outcome="delivered" if outcome.delivered else "failed",
                        code=outcome.code,
                        reason=outcome.reason,
                        wire=json.dumps(wire, ensure_ascii=False),
                    ),
                )
            )
        records = [d for _, d in decisions if isinstance(d, NewMessage)]
        done = iter(await run_in_threadpool(self.ledger.accept, self.config, records))
        results: list[dict[str, Any]] = []
        for key, decision in decisions:
            if isinstance(decision, rules.Rejection):
                results.append(batch_result(key, None, "rejected", decision.code, decision.reason))
                continue
            accepted = next(done)
            status = "duplicate" if accepted.duplicate else "accepted"
            results.append(batch_result(key, accepted.message_id, status, None, None))
        # Counts only: names and addresses never reach the log.
        log.debug("dm batch: %d records, %d booked", len(decisions), len(records))
        return JSONResponse({"batchId": header["batch_id"], "results": results})


def _framing(records: list[tuple[str, dict[str, str]]]) -> str | None:
    kinds = [kind for kind, _ in records]
    if len(kinds) < 3 or kinds[0] != "H" or kinds[-1] != "T":
        return "a batch is one H record, data records and one T record"
    if any(kind != "D" for kind in kinds[1:-1]):
        return "only D records between header and trailer"
    return None
