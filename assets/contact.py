"""The customer's side of a contact: MO replies read from the relay and the RCS chatroom."""

import asyncio
import time

import dagster as dg
import httpx

from ums_pipelines.contact.ingest import MoResult, poll_mo
from ums_pipelines.resources import UmsResource

__all__ = ["ASSETS", "CHECKS"]


@dg.asset(
    group_name="contact",
    owners=["team:messaging-ops"],
    kinds={"python", "sqlalchemy"},
    description="MO replies: stored once, matched to the message they answer, opt-outs"
    " recorded at once (수신거부, STOP, 080 ...), the rest queued for customer care.",
)
def mo_replies(ums: UmsResource) -> dg.MaterializeResult[None]:
    started = time.monotonic()

    async def _poll() -> MoResult:
        async with httpx.AsyncClient(timeout=30.0) as client:
            return await poll_mo(store, ums.settings(), client)

    with ums.open_store() as store:
        ums.authorize(store, "mo.ingest")
        result = asyncio.run(_poll())
    return dg.MaterializeResult(
        metadata={**vars(result), "seconds": round(time.monotonic() - started, 3)}
    )


ASSETS = [mo_replies]
CHECKS: list[dg.AssetChecksDefinition] = []
