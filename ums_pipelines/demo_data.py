"""Synthetic Korean customers for the demo, the tests and the benchmarks.

The file is a customer change file (see :mod:`ums_pipelines.customers.validation`), so
the demo loads customers through the same path as production. Every value is fake:
names from Faker's ko_KR lists, 010 numbers drawn at random, addresses under
``example.*`` (RFC 2606) plus ``bounce.example`` for the simulator's bounces.
"""

from __future__ import annotations

import csv
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from faker import Faker

__all__ = [
    "BOUNCE_DOMAIN",
    "BRANCHES",
    "DEMO_COLUMNS",
    "INVALID_TOKEN_PREFIX",
    "customer_id",
    "write_customer_file",
]

KST = ZoneInfo("Asia/Seoul")
CHANNEL_WEIGHTS = {"sms": 30, "alimtalk": 30, "push": 25, "email": 15}
BOUNCE_DOMAIN = "bounce.example"
INVALID_TOKEN_PREFIX = "invalid-"  # noqa: S105 - a push token marker, not a secret
BRANCHES = (
    "강남지점",
    "여의도지점",
    "종로지점",
    "명동지점",
    "잠실지점",
    "목동지점",
    "분당지점",
    "일산지점",
    "수원지점",
    "인천지점",
    "대전지점",
    "대구지점",
    "광주지점",
    "부산중앙지점",
    "해운대지점",
    "울산지점",
    "전주지점",
    "청주지점",
    "창원지점",
    "제주지점",
)
_DOMAINS = ("example.com", "example.net", "example.org")
_CHANNELS = tuple(CHANNEL_WEIGHTS)
DEMO_COLUMNS = (
    "customer_id",
    "changed_at",
    "name",
    "phone",
    "email",
    "push_token",
    "preferred_channel",
    "branch",
    "deceased",
    *(f"consent_{channel}_info" for channel in _CHANNELS),
    *(f"consent_{channel}_ad" for channel in _CHANNELS),
)

# Shares of customers; the exact counts vary a little with the seed.
_INFO_OPT_OUT = 0.02  # consent_<preferred channel>_info = N
_DECEASED = 0.005
_INVALID_TOKEN = 0.03
_BOUNCE = 0.02
_AD_CONSENT = 0.4
_HAS_APP = 0.8  # customers preferring push always have the app


def customer_id(n: int) -> str:
    """The demo's customer id for 1-based index ``n``: ``C0000001``."""
    return f"C{n:07d}"


def _subscriber(n: int) -> int:
    return 20_000_000 + n if n < 30_000_000 else 30_000_000 + n


def _pools(seed: int) -> tuple[list[str], list[str], list[str]]:
    # Faker costs tens of microseconds per call; pools drawn once keep 10,000 rows fast
    # while the values still come from Faker's ko_KR data.
    fake = Faker("ko_KR")
    fake.seed_instance(seed)
    last = [fake.last_name() for _ in range(300)]
    first = [fake.first_name() for _ in range(600)]
    users = list(dict.fromkeys(fake.user_name() for _ in range(600)))
    return last, first, users


def write_customer_file(path: Path, count: int, seed: int = 42, now: datetime | None = None) -> int:
    """Write ``count`` synthetic customers to ``path`` atomically; return rows written.

    Deterministic for a given ``seed`` and ``now`` (``now`` defaults to the current time;
    every ``changed_at`` falls in the 30 days before it).
    """
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).astimezone(KST)
    last_names, first_names, users = _pools(seed)
    # Unique numbers without materialising the range. libphonenumber's metadata leaves
    # gaps in 010-5xxx, so the draw covers 010-2000-0000 .. 010-9999-9999 without it.
    numbers = [_subscriber(n) for n in rng.sample(range(70_000_000), count)]
    channels = rng.choices(_CHANNELS, weights=list(CHANNEL_WEIGHTS.values()), k=count)

    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temp.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(DEMO_COLUMNS)
        for i in range(count):
            preferred = channels[i]
            changed_at = now - timedelta(seconds=rng.randrange(30 * 86_400))
            domain = BOUNCE_DOMAIN if rng.random() < _BOUNCE else rng.choice(_DOMAINS)
            token = ""
            if preferred == "push" or rng.random() < _HAS_APP:
                prefix = INVALID_TOKEN_PREFIX if rng.random() < _INVALID_TOKEN else ""
                token = f"{prefix}{rng.getrandbits(256):064x}"
            opt_out = rng.random() < _INFO_OPT_OUT
            info = ["N" if opt_out and ch == preferred else "Y" for ch in _CHANNELS]
            ad = ["Y" if rng.random() < _AD_CONSENT else "N" for _ in _CHANNELS]
            writer.writerow(
                [
                    customer_id(i + 1),
                    changed_at.isoformat(timespec="seconds"),
                    rng.choice(last_names) + rng.choice(first_names),
                    f"010{numbers[i]:08d}",
                    f"{rng.choice(users)}{i + 1}@{domain}",
                    token,
                    preferred,
                    rng.choice(BRANCHES),
                    "Y" if rng.random() < _DECEASED else "N",
                    *info,
                    *ad,
                ]
            )
    temp.replace(path)
    return count
