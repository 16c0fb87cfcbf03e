"""Kakao bizmessage FriendTalk and brand message, beside AlimTalk on the same gateway.

- ``POST /kakao/v2/senders/{senderKey}/images`` (multipart ``image``): JPEG or PNG up to
  500 KB, answered ``{"code": "0000", "imageUrl": ...}`` as Kakao's image upload does;
  a send names the image by that URL.
- ``POST /friendtalk/v2/senders/{senderKey}/messages`` and
  ``POST /brand/v1/senders/{senderKey}/messages``: ``{"messages": [...]}``, each with
  ``clientKey``, ``to``, ``messageType``, ``text``, ``adFlag``, optional ``image``
  ``{imageUrl, imageLink}`` and ``buttons`` (``type``, ``name``, ``linkMo``, ``linkPc``,
  ``schemeAndroid``, ``schemeIos``); per-message results like AlimTalk's.

Both are advertising products: ``adFlag`` must be ``Y``. A brand message reaches each
recipient at most once per Korean day. Whether the number has KakaoTalk is known at
delivery: non-users (``kakao_non_user_rate``) get a failure receipt 3018, a fall-back code.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim import codes, rules
from ums_pipelines.gateway_sim.ledger import Ledger, now_ms
from ums_pipelines.gateway_sim.records import Channel
from ums_pipelines.gateway_sim.sends import Sends, _Decision, _parse, _too_many, raw_messages
from ums_pipelines.gateway_sim.uploads import read_upload, uploads_for
from ums_pipelines.gateway_sim.wire import _Wire, relay_error

__all__ = [
    "BRAND_TYPES",
    "FRIENDTALK_LIMITS",
    "KAKAO_IMAGE_MAX_BYTES",
    "KakaoButton",
    "KakaoExt",
    "KakaoImage",
    "TypedBatch",
    "TypedMessage",
    "outside_hours",
]

KAKAO_IMAGE_MAX_BYTES = 500 * 1024
_IMAGE_HOST = "https://mud-kage.kakao.sim/dn"
# messageType -> (characters, buttons, needs an image)
FRIENDTALK_LIMITS: dict[str, tuple[int, int, bool]] = {
    "TEXT": (1000, 5, False),
    "IMAGE": (400, 5, True),
    "WIDE": (76, 1, True),
}
BRAND_TYPES: dict[str, tuple[int, int, bool]] = {
    **FRIENDTALK_LIMITS,
    "WIDE_ITEM_LIST": (76, 2, True),
}
_KST = timezone(timedelta(hours=9))

log = logging.getLogger(__name__)


class KakaoButton(_Wire):
    type: Literal["WL", "AL", "BK", "MD", "BC", "BT", "AC", "DS"]
    name: str = Field(min_length=1, max_length=14)
    link_mo: str | None = Field(default=None, alias="linkMo")
    link_pc: str | None = Field(default=None, alias="linkPc")
    scheme_android: str | None = Field(default=None, alias="schemeAndroid")
    scheme_ios: str | None = Field(default=None, alias="schemeIos")


class KakaoImage(_Wire):
    image_url: str = Field(alias="imageUrl", min_length=1)
    image_link: str | None = Field(default=None, alias="imageLink")


class TypedMessage(_Wire):
    client_key: str = Field(alias="clientKey", min_length=1, max_length=200)
    to: str
    message_type: str = Field(alias="messageType")
    text: str
    ad_flag: Literal["Y", "N"] = Field(alias="adFlag")
    image: KakaoImage | None = None
    buttons: list[KakaoButton] = Field(default_factory=list)


class TypedBatch(_Wire):
    messages: list[TypedMessage] = Field(min_length=1)


class _DailyBrand:
    """Which brand message each recipient had on each KST day (first key wins)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[tuple[str, str], str] = {}


_DAILY: weakref.WeakKeyDictionary[Ledger, _DailyBrand] = weakref.WeakKeyDictionary()
_DAILY_GUARD = threading.Lock()


def _daily(ledger: Ledger) -> _DailyBrand:
    with _DAILY_GUARD:
        found = _DAILY.get(ledger)
        if found is None:
            found = _DAILY[ledger] = _DailyBrand()
        return found


class KakaoExt:
    def __init__(self, sends: Sends) -> None:
        self.sends = sends
        self.config = sends.config
        self.ledger = sends.ledger

    async def upload_image(self, request: Request) -> Response:
        found = await read_upload(request, "image", codes.KAKAO, KAKAO_IMAGE_MAX_BYTES)
        if isinstance(found, str):
            return relay_error(400, codes.K_INVALID_IMAGE, found, "image")
        if found.content_type not in ("image/jpeg", "image/png"):
            text = "image: Kakao takes JPEG or PNG images"
            return relay_error(400, codes.K_INVALID_IMAGE, text, "image")
        uploads_for(self.ledger).add(found)
        return JSONResponse(
            {"code": "0000", "message": "success", "imageUrl": _image_url(found.file_id)}
        )

    async def friendtalk(self, request: Request) -> Response:
        return await self._typed(request, "friendtalk", FRIENDTALK_LIMITS)

    async def brand(self, request: Request) -> Response:
        return await self._typed(request, "brand", BRAND_TYPES)

    async def _typed(
        self, request: Request, channel: Channel, kinds: dict[str, tuple[int, int, bool]]
    ) -> Response:
        batch = await _parse(request, TypedBatch)
        if isinstance(batch, Response):
            return batch
        if len(batch.messages) > self.config.max_batch:
            return _too_many(self.config.max_batch)
        sender_key = request.path_params["senderKey"]
        now = datetime.fromtimestamp(now_ms() / 1000, UTC).astimezone(_KST)
        day = now.strftime("%Y%m%d")
        closed = outside_hours(self.config.kakao_ad_hours, now.strftime("%H:%M"))
        daily = _daily(self.ledger)
        decisions: list[_Decision] = []
        raw = await raw_messages(request)
        for i, m in enumerate(batch.messages):
            rejection = closed or self._check(m, kinds)
            if rejection is None and channel == "brand":
                with daily.lock:
                    first = daily.sent.setdefault((m.to, day), m.client_key)
                if first != m.client_key:
                    rejection = rules.Rejection(
                        codes.K_BRAND_DAILY, "the recipient already had a brand message today"
                    )
            if rejection is not None:
                decisions.append((m.client_key, rejection))
                log.debug("%s rejected %s for %s", channel, rejection.code, rules.mask_phone(m.to))
                continue
            kind = "BRAND" if channel == "brand" else f"FRIENDTALK_{m.message_type}"
            record = self.sends._record(
                m.client_key,
                channel,
                kind,
                sender=sender_key,
                recipient=m.to,
                subject=m.message_type,
                body=m.text,
                outcome=rules.alimtalk_outcome(self.config, m.client_key, m.to),
                wire=json.dumps(raw[i], ensure_ascii=False),
            )
            decisions.append((m.client_key, record))
        # One Kakao gateway: FriendTalk and brand messages share AlimTalk's rate limit.
        return await self.sends._commit("alimtalk", decisions)

    def _check(
        self, m: TypedMessage, kinds: dict[str, tuple[int, int, bool]]
    ) -> rules.Rejection | None:
        if rules.check_alimtalk(m.to, "x", 0) is not None:
            return rules.Rejection(codes.K_INVALID_PHONE, "to is not a Korean mobile number")
        if m.ad_flag != "Y":
            return rules.Rejection(codes.K_AD_FLAG, "adFlag must be Y: an advertising product")
        limits = kinds.get(m.message_type)
        if limits is None:
            known = ", ".join(kinds)
            return rules.Rejection(codes.K_SIZE, f"messageType must be one of {known}")
        max_chars, max_buttons, needs_image = limits
        if not m.text:
            return rules.Rejection(codes.K_MESSAGE_EMPTY, "text is empty")
        if len(m.text) > max_chars:
            return rules.Rejection(
                codes.K_MESSAGE_TOO_LONG,
                f"{m.message_type} text is {len(m.text)} characters, limit {max_chars}",
            )
        if len(m.buttons) > max_buttons:
            return rules.Rejection(
                codes.K_SIZE, f"{len(m.buttons)} buttons, {m.message_type} takes {max_buttons}"
            )
        for i, button in enumerate(m.buttons):
            if button.type == "WL" and not button.link_mo:
                return rules.Rejection(codes.K_SIZE, f"buttons[{i}].linkMo: a WL button needs it")
            if button.type == "AL" and not (button.scheme_android or button.scheme_ios):
                return rules.Rejection(codes.K_SIZE, f"buttons[{i}]: an AL button needs a scheme")
        if needs_image:
            if m.image is None:
                return rules.Rejection(codes.K_INVALID_IMAGE, f"{m.message_type} needs an image")
            file_id = m.image.image_url.rsplit("/", 1)[-1].split(".", 1)[0]
            if not m.image.image_url.startswith(_IMAGE_HOST) or (
                uploads_for(self.ledger).get(codes.KAKAO, file_id) is None
            ):
                return rules.Rejection(codes.K_INVALID_IMAGE, "image.imageUrl was not uploaded")
        elif m.image is not None:
            return rules.Rejection(codes.K_INVALID_IMAGE, f"{m.message_type} takes no image")
        return None


def outside_hours(hours: tuple[str, str] | None, clock: str) -> rules.Rejection | None:
    """Kakao takes advertising only in its hours (KST "HH:MM" strings compare as times)."""
    if hours is None:
        return None
    start, end = hours
    if start <= clock < end:
        return None
    return rules.Rejection(
        codes.K_NOT_SEND_TIME, f"FriendTalk and brand messages go {start}-{end} KST only"
    )


def _image_url(file_id: str) -> str:
    return f"{_IMAGE_HOST}/{file_id}.jpg"
