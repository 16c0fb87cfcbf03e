"""End to end: a job sent through the gateway simulator with failures and fallbacks; an
invoice built from the simulator's own books (what it delivered) reconciles cleanly for
every provider, and the failed legs it recorded are never billed."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from ums_pipelines.billing import price_of
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.settlement import read_detail, read_invoice, reconcile, settle
from ums_pipelines.store.engine import as_utc


def test_simulator_books_reconcile(sim_bank: Any, ledger_rows: Any, tmp_path: Path) -> None:
    bank = sim_bank
    bank.add_mixed(24)
    job_id = bank.targeted()
    result = asyncio.run(Dispatcher(bank.store, bank.settings, tick=0.05).run_job(job_id, 60))
    assert result.terminal
    messages = {m.idempotency_key: m for m in bank.messages(job_id)}
    sent = [m for m in messages.values() if m.submitted_at is not None]
    month = as_utc(sent[0].submitted_at).astimezone(bank.settings.tz).strftime("%Y-%m")

    rows = ledger_rows(f"{job_id}.")
    assert any(r["outcome"] == "failed" for r in rows)  # fallbacks happened
    billed: defaultdict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
    for r in rows:
        if r["outcome"] != "delivered":
            continue  # a provider bills delivered messages only
        m = messages[r["clientKey"]]
        price = price_of(bank.settings, m.provider, m.message_type) or Decimal(0)
        billed[m.provider].append((r["clientKey"], m.message_type, price))
    assert billed

    totals = settle(bank.store, bank.settings, month)
    failed_at_provider = [r["clientKey"] for r in rows if r["outcome"] == "failed"]
    assert all(messages[k].state == "failed" for k in failed_at_provider)
    # Ours also holds legs refused before any provider accepted them.
    assert sum(c.failed for c in totals) >= len(failed_at_provider)
    for provider, lines in billed.items():
        count: Counter[str] = Counter()
        amount: defaultdict[str, Decimal] = defaultdict(Decimal)
        for _, mtype, price in lines:
            count[mtype] += 1
            amount[mtype] += price
        invoice = tmp_path / f"{provider}.csv"
        invoice.write_text(
            "provider,month,message_type,count,unit_price,amount\n"
            + "".join(
                f"{provider},{month},{t},{n},{amount[t] / n},{amount[t]}\n"
                for t, n in count.items()
            )
        )
        detail = tmp_path / f"{provider}-detail.csv"
        detail.write_text(
            "message_key,message_type,amount\n" + "".join(f"{k},{t},{p}\n" for k, t, p in lines)
        )
        got = reconcile(
            bank.store,
            bank.settings,
            provider,
            month,
            read_invoice(invoice, provider, month),
            read_detail(detail),
        )
        assert got.differences == [], provider
        delivered = sum(c.delivered + c.test_delivered for c in totals if c.provider == provider)
        assert delivered == len(lines)
