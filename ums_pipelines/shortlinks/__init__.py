"""Per-recipient short links and the redirect service that records their clicks."""

from ums_pipelines.shortlinks.codes import is_code, new_code
from ums_pipelines.shortlinks.store import (
    ClickResponse,
    insert_links,
    link_row,
    record_click,
    resolve,
    responses,
    short_url,
)

__all__ = [
    "ClickResponse",
    "insert_links",
    "is_code",
    "link_row",
    "new_code",
    "record_click",
    "resolve",
    "responses",
    "short_url",
]
