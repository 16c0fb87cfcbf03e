"""The relay's MMS: images uploaded once (``POST /sms/v1/files``), sent by file id.

The shape of Korean relays' file APIs: a multipart upload (field ``file``) answers with
a ``fileId``, and an ``MMS`` entry of the ordinary batch (``/sms/v1/messages/batch``)
names up to three of them in ``fileIds`` beside its ``subject`` and ``text``. The relay
takes JPEG only, 300 KB at most, within its pixel limit; a refused upload is a 400 with
code ``E-IMAGE``, an unknown or fourth file id a per-message ``E-IMAGE`` rejection.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim import codes, rules
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.uploads import read_upload, uploads_for
from ums_pipelines.gateway_sim.wire import relay_error

__all__ = ["MMS_MAX_BYTES", "MMS_MAX_IMAGES", "MMS_MAX_PIXELS", "MmsFiles", "check_mms"]

MMS_MAX_IMAGES = 3
MMS_MAX_BYTES = 300 * 1024
# Width x height; one relay takes 1000x1000, another 1500x1440 (DOMAIN.md).
MMS_MAX_PIXELS = (1500, 1440)

log = logging.getLogger(__name__)


class MmsFiles:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def upload(self, request: Request) -> Response:
        found = await read_upload(request, "file", codes.RELAY, MMS_MAX_BYTES)
        if isinstance(found, str):
            return relay_error(400, codes.E_IMAGE, found, "file")
        if found.content_type != "image/jpeg":
            return relay_error(400, codes.E_IMAGE, "file: an MMS image must be a JPEG", "file")
        width, height = MMS_MAX_PIXELS
        if found.width > width or found.height > height:
            text = f"file: {found.width}x{found.height} px, limit {width}x{height}"
            return relay_error(400, codes.E_IMAGE, text, "file")
        uploads_for(self.ledger).add(found)
        log.debug("mms file uploaded (%d bytes)", found.size_bytes)
        return JSONResponse(
            {
                "fileId": found.file_id,
                "size": found.size_bytes,
                "width": found.width,
                "height": found.height,
            }
        )


def check_mms(ledger: Ledger, file_ids: list[str] | None) -> rules.Rejection | None:
    """What the relay checks of an MMS beyond its text (done by ``rules.check_sms``)."""
    ids = file_ids or []
    if not ids:
        return rules.Rejection(codes.E_IMAGE, "an MMS names 1 to 3 uploaded fileIds")
    if len(ids) > MMS_MAX_IMAGES:
        return rules.Rejection(codes.E_IMAGE, f"{len(ids)} images, limit {MMS_MAX_IMAGES}")
    files = uploads_for(ledger)
    for i, file_id in enumerate(ids):
        if files.get(codes.RELAY, file_id) is None:
            return rules.Rejection(codes.E_IMAGE, f"fileIds[{i}] is not an uploaded file")
    return None
