"""The redirect service through Starlette's TestClient, on both store backends."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

with warnings.catch_warnings():
    # Starlette now prefers the httpx2 package; httpx is what this project depends on.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.shortlinks.server import create_app
from ums_pipelines.shortlinks.store import insert_links, link_row
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.content import LinkClick

TARGET = "https://bank.example/cards/event?utm=sms&x=1"
UA = "Mozilla/5.0 (Linux; Android 14) UmsTest/1.0"
NOT_FOUND = ("페이지를 찾을 수 없습니다", "Page not found")
TRACE_MARKS = ("Traceback", 'File "', "sqlalchemy", "Error:", "line ")


def make_link(store: Store, key: str, *, now: datetime | None = None, **kw: Any) -> str:
    now = now or utcnow()
    row = link_row(
        message_key=key,
        position=0,
        kind="link",
        job_id="job-1",
        customer_id="C1",
        target_url=kw.pop("target_url", TARGET),
        now=now,
        expires_at=kw.pop("expires_at", now + timedelta(days=90)),
    )
    with store.session() as session:
        insert_links(session, [row])
    return str(row["code"])


def clicks(store: Store) -> list[tuple[str, str | None]]:
    with store.session() as session:
        rows = session.execute(select(LinkClick.code, LinkClick.user_agent).order_by(LinkClick.id))
        return [(code, agent) for code, agent in rows]


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(store), follow_redirects=False, headers={"User-Agent": UA}) as c:
        yield c


def assert_not_found_page(response: Any) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    for words in NOT_FOUND:
        assert words in response.text
    for mark in TRACE_MARKS:
        assert mark not in response.text


def test_a_click_redirects_and_is_recorded(store: Store, client: TestClient) -> None:
    code = make_link(store, "job-1.a")
    before = utcnow()
    response = client.get(f"/{code}")
    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert clicks(store) == [(code, UA)]
    with store.session() as session:
        [clicked_at] = session.scalars(select(LinkClick.clicked_at)).all()
    assert clicked_at.replace(tzinfo=before.tzinfo) >= before.replace(microsecond=0)
    # Every click is its own row: a second tap is a second response.
    client.get(f"/{code}", headers={"User-Agent": "Other/2.0"})
    assert clicks(store) == [(code, UA), (code, "Other/2.0")]


def test_a_target_with_korean_text_redirects_percent_encoded(
    store: Store, client: TestClient
) -> None:
    code = make_link(store, "job-1.ko", target_url="https://bank.example/이벤트?q=가을")
    response = client.get(f"/{code}")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.isascii() and location.startswith("https://bank.example/%EC%9D%B4")


def test_head_redirects_without_recording(store: Store, client: TestClient) -> None:
    code = make_link(store, "job-1.h")
    response = client.head(f"/{code}")
    assert (response.status_code, response.headers["location"]) == (302, TARGET)
    assert clicks(store) == []


def test_unknown_and_expired_codes_get_the_404_page(store: Store, client: TestClient) -> None:
    now = utcnow()
    expired = make_link(
        store, "job-1.x", now=now - timedelta(days=91), expires_at=now - timedelta(days=1)
    )
    unknown = "ABCDEFGHJKMN"
    for code in (expired, unknown):
        assert_not_found_page(client.get(f"/{code}"))
        head = client.head(f"/{code}")
        assert head.status_code == 404 and "location" not in head.headers
        assert code not in client.get(f"/{code}").text
    assert clicks(store) == []


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/..%2F..%2Fetc%2Fpasswd",
        "/" + "A" * 1000,
        "/" + "가" * 12,
        "/ABCDEFGHJKL0",
        "/ABCDEFGHJKLM/extra",
        "/ABCDEFGHJKLM%00",
        "/<script>alert(1)</script>",
        "/i/logo.png",
        "/",
        "/%",
    ],
)
def test_malformed_paths_get_the_404_page(store: Store, client: TestClient, path: str) -> None:
    response = client.get(path)
    assert_not_found_page(response)
    assert "<script>alert" not in response.text
    assert clicks(store) == []


def test_a_wrong_method_gets_a_small_page_and_records_nothing(
    store: Store, client: TestClient
) -> None:
    code = make_link(store, "job-1.p")
    response = client.post(f"/{code}")
    assert response.status_code == 405
    assert "Request not allowed" in response.text
    assert all(mark not in response.text for mark in TRACE_MARKS)
    assert clicks(store) == []


def test_health_and_feedback_pages(client: TestClient) -> None:
    health = client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    page = client.get("/feedback")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "소중한 의견 감사합니다" in page.text and "Thank you for your feedback" in page.text
    assert '<meta name="viewport"' in page.text


def test_a_failing_store_gives_a_plain_500_page_and_a_log_line_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Store(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated: no tables
    try:
        with (
            TestClient(create_app(broken), follow_redirects=False) as client,
            caplog.at_level(logging.ERROR, logger="ums_pipelines.shortlinks.server"),
        ):
            responses = [client.get("/ABCDEFGHJKMN"), client.head("/ABCDEFGHJKMN")]
            health = client.get("/healthz")
    finally:
        broken.dispose()
    for response in [*responses, health]:
        assert response.status_code == 500
        assert all(mark not in response.text for mark in TRACE_MARKS)
    assert "일시적인 오류" in responses[0].text and "Something went wrong" in responses[0].text
    messages = [r.getMessage() for r in caplog.records]
    assert messages[:2] == ["short-link redirect failed: OperationalError"] * 2
    assert messages[2] == "short-link health failed: OperationalError"
    assert not any(r.exc_info for r in caplog.records)  # no trace in the log either


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_failure_never_logs_what_it_carried(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def clock() -> datetime:
        raise RuntimeError("customer 010-1234-5678 김민수")

    code = make_link(store, "job-1.c")
    with (
        TestClient(create_app(store, clock=clock), follow_redirects=False) as client,
        caplog.at_level(logging.DEBUG),
    ):
        response = client.get(f"/{code}")
    assert response.status_code == 500
    # What the service logged (the test's own HTTP client logs the URL it asked for).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert logged == "short-link redirect failed: RuntimeError"
    assert "010-1234-5678" not in response.text and "김민수" not in response.text


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_images_of_the_content_store_are_served_and_nothing_else(
    store: Store, tmp_path: Path
) -> None:
    content = ContentStore(tmp_path / "content")
    png = _png()
    image = content.put_image(png)
    letter = content.put_attachment(b"%PDF-1.4 statement", "statement.pdf")
    app = create_app(store, content_dir=tmp_path / "content")
    with TestClient(app, follow_redirects=False) as client:
        got = client.get(f"/i/{image.ref}")
        assert (got.status_code, got.headers["content-type"], got.content) == (
            200,
            "image/png",
            png,
        )
        assert "immutable" in got.headers["cache-control"]
        assert client.head(f"/i/{image.ref}").status_code == 200
        # An attachment may be a customer's document: never served, even by its ref.
        assert_not_found_page(client.get(f"/i/{letter.ref}"))
        assert_not_found_page(client.get(f"/i/{'0' * 64}.png"))
        assert_not_found_page(client.get("/i/../../ums.db"))
        assert_not_found_page(client.get(f"/i/{image.ref.upper()}"))
    # A file changed under its name is not served as the image.
    (tmp_path / "content" / image.ref[:2] / image.ref).write_bytes(png + b"x")
    with TestClient(app) as client:
        assert_not_found_page(client.get(f"/i/{image.ref}"))
    assert clicks(store) == []


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_click_that_cannot_be_written_still_redirects(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    code = make_link(store, "job-1.w")
    with store.session() as session:
        session.execute(text("DROP TABLE link_clicks"))
    with (
        TestClient(create_app(store), follow_redirects=False) as client,
        caplog.at_level(logging.ERROR, logger="ums_pipelines.shortlinks.server"),
    ):
        response = client.get(f"/{code}")
    assert (response.status_code, response.headers["location"]) == (302, TARGET)
    assert [r.getMessage() for r in caplog.records] == [
        "short-link click not recorded: OperationalError"
    ]
