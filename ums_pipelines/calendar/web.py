"""The send calendar over HTTP, for the screen board to mount: ``/calendar`` (an HTML
day/week/month page), ``/calendar.json`` (the same view as JSON) and ``/calendar.ics``
(the iCalendar feed).

The routes never decide who is logged in: the board hands over ``user_of``, its own
check of a request (a personal board token), and each request is then refused unless
that user holds a role for the ``calendar.show`` action (any role, for '*'). Without a
user it is 401, without the role 403; there is no other way in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ums_pipelines.calendar.events import INACTIVE
from ums_pipelines.calendar.ics import calendar_feed
from ums_pipelines.calendar.views import VIEWS, calendar_view, period_of
from ums_pipelines.compliance.access import allowed
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow

__all__ = ["VIEW_ACTION", "board_routes", "calendar_routes", "render_page"]

VIEW_ACTION = "calendar.show"
TEMPLATES = Path(__file__).resolve().parent / "templates"
_WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")
# The board's realm: a browser that logged in to the board sends the same credentials.
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="UMS board", charset="UTF-8"'}


class _BadRequest(ValueError):
    pass


def _day(request: Request, name: str, default: date) -> date:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _BadRequest(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _view(request: Request) -> str:
    view = request.query_params.get("view", "week")
    if view not in VIEWS:
        raise _BadRequest(f"view: {view!r} is not one of {', '.join(VIEWS)}")
    return view


def _weeks(days: list[dict[str, Any]]) -> list[list[dict[str, Any] | None]]:
    """The days in Monday-to-Sunday rows, padded with None before and after."""
    first = date.fromisoformat(days[0]["date"])
    cells: list[dict[str, Any] | None] = [None] * first.weekday() + list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def render_page(cal: dict[str, Any], base: str = "/calendar") -> str:
    """The HTML of a ``calendar_view`` result, with links to the next and previous
    period, the other views and the feed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    view, first = cal["view"], date.fromisoformat(cal["from"])
    last = date.fromisoformat(cal["to"])
    dept = {"department": cal["department"]} if cal["department"] else {}

    def link(v: str, d: date) -> str:
        return f"{base}?{urlencode({'view': v, 'date': d.isoformat(), **dept})}"

    links = {
        "prev": link(view, first - timedelta(days=1)),
        "next": link(view, last + timedelta(days=1)),
        "views": [(v, link(v, first)) for v in VIEWS],
        "ics": f"{base}.ics?{urlencode({'from': cal['from'], 'to': cal['to'], **dept})}",
    }
    conflicted = {j for c in cal["conflicts"] for j in c["jobs"]}
    return env.get_template("calendar.html.j2").render(
        cal=cal,
        links=links,
        weekdays=_WEEKDAYS,
        weeks=_weeks(cal["days"]),
        events={e["job_id"]: e for e in cal["events"]},
        conflicted=conflicted,
        inactive=INACTIVE,
    )


def calendar_routes(
    store: Store,
    settings: Settings,
    *,
    user_of: Callable[[Request], str | None],
    prefix: str = "/calendar",
) -> list[Route]:
    """Routes ``{prefix}``, ``{prefix}.json`` and ``{prefix}.ics`` over ``store``."""

    def guarded(
        handler: Callable[[Request, Any], Response],
    ) -> Callable[[Request], Response]:
        # Sync endpoints: Starlette runs them in its thread pool, off the event loop.
        def endpoint(request: Request) -> Response:
            user = user_of(request)
            if user is None:
                return PlainTextResponse("a board login is required", 401, headers=_CHALLENGE)
            with store.reading() as session:
                if not allowed(session, user, VIEW_ACTION, None):
                    return PlainTextResponse(f"{user} may not view the calendar", 403)
                try:
                    return handler(request, session)
                except (_BadRequest, ValueError) as exc:
                    return PlainTextResponse(str(exc), status_code=400)

        return endpoint

    def _cal(request: Request, session: Any) -> dict[str, Any]:
        today = utcnow().astimezone(settings.tz).date()
        department = request.query_params.get("department") or None
        return calendar_view(
            session, settings, _view(request), _day(request, "date", today), department=department
        )

    def page(request: Request, session: Any) -> Response:
        return HTMLResponse(render_page(_cal(request, session), prefix))

    def as_json(request: Request, session: Any) -> Response:
        return JSONResponse(_cal(request, session))

    def feed(request: Request, session: Any) -> Response:
        today = utcnow().astimezone(settings.tz).date()
        first = _day(request, "from", period_of("month", today)[0])
        last = _day(request, "to", first + timedelta(days=90))
        holidays = request.query_params.get("holidays", "1") not in ("0", "false", "no")
        body = calendar_feed(
            session, settings, first, last,
            department=request.query_params.get("department") or None, with_holidays=holidays,
        )  # fmt: skip
        return Response(body, media_type="text/calendar; charset=utf-8")

    return [
        Route(prefix, guarded(page), methods=["GET"]),
        Route(f"{prefix}.json", guarded(as_json), methods=["GET"]),
        Route(f"{prefix}.ics", guarded(feed), methods=["GET"]),
    ]


def board_routes(store: Store, settings: Settings) -> list[Route]:
    """The calendar routes behind the screen board's login (its personal tokens,
    ``board.auth``), for ``board.server.create_app(extra_routes=...)``: a valid token's
    user is checked for ``calendar.show``; a missing or bad token is 401."""
    from ums_pipelines.board.auth import check_request

    def user_of(request: Request) -> str | None:
        with store.reading() as session:
            verdict = check_request(session, request.headers.get("authorization"))
        # 403 there (a valid token, no role) is a user here: the role check answers 403.
        return verdict.user if verdict.status in (200, 403) else None

    return calendar_routes(store, settings, user_of=user_of)
