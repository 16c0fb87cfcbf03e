"""Routes of the FriendTalk, brand message and RCS Biz Center endpoints, for ``app.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ums_pipelines.gateway_sim.config import Endpoint
from ums_pipelines.gateway_sim.kakao_ext import KakaoExt
from ums_pipelines.gateway_sim.rcs import Rcs
from ums_pipelines.gateway_sim.sends import Sends

__all__ = ["kakao_rcs_routes"]

Handler = Callable[[Request], Awaitable[Response]]


def kakao_rcs_routes(
    sends: Sends,
    send: Callable[[Endpoint, Handler], Handler],
    auth: Callable[[Handler], Handler],
) -> list[Route]:
    """``send`` wraps a send endpoint in latency, auth and faults; ``auth`` an upload."""
    kakao, rcs = KakaoExt(sends), Rcs(sends)
    return [
        Route("/kakao/v2/senders/{senderKey}/images", auth(kakao.upload_image), methods=["POST"]),
        Route(
            "/friendtalk/v2/senders/{senderKey}/messages",
            send("alimtalk", kakao.friendtalk),
            methods=["POST"],
        ),
        Route(
            "/brand/v1/senders/{senderKey}/messages",
            send("alimtalk", kakao.brand),
            methods=["POST"],
        ),
        Route("/rcs/v1/files", auth(rcs.upload), methods=["POST"]),
        Route("/rcs/v1/messages", send("rcs", rcs.send), methods=["POST"]),
    ]
