"""Which receipts an accepted message will produce, and when: the receipt-fault rules.

Pure functions of the config, the message and its acceptance time. Used only when
``SimConfig.receipt_faults`` is on; otherwise every message has exactly one handset
receipt, due ``receipt_delay_ms`` after acceptance, read straight from its ledger row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ums_pipelines.gateway_sim.codes import failure_stage
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.records import NewMessage
from ums_pipelines.gateway_sim.rules import fraction

__all__ = ["STAGES", "PlannedReceipt", "ReceiptPlan", "plan_receipts", "receipt_delay"]

# Stages reported per channel when ``receipt_stages`` is on; the last one is final.
STAGES: dict[str, tuple[str, ...]] = {
    "sms": ("relay", "carrier", "handset"),
    "alimtalk": ("relay", "handset"),
    "push": ("relay", "handset"),
    "email": ("relay", "handset"),
    "dm": ("relay", "handset"),
    # RCS Biz Center hands the message to the carrier's RCS server, then the handset.
    "rcs": ("relay", "carrier", "handset"),
    "friendtalk": ("relay", "handset"),
    "brand": ("relay", "handset"),
}
# What a stage before the final one reports.
IN_FLIGHT = "sent"


@dataclass(frozen=True, slots=True)
class PlannedReceipt:
    stage: str
    status: str
    code: str | None
    reason: str | None
    due_at: int


@dataclass(frozen=True, slots=True)
class ReceiptPlan:
    """``final_due``: when the message's outcome is known, whether or not it is reported."""

    final_due: int
    events: tuple[PlannedReceipt, ...]


def receipt_delay(config: SimConfig, client_key: str) -> int:
    low, high = config.receipt_delay_range
    if high == low:
        return low
    drawn = fraction(config.seed, "receipt-delay", client_key)
    return min(high, low + int(drawn * (high - low + 1)))


def plan_receipts(config: SimConfig, record: NewMessage, accepted_at: int) -> ReceiptPlan:
    """The feed entries of one message, in the order they are inserted.

    Stage i of n falls due at i/n of the message's delay, the final one at the full
    delay. A reordered message swaps the times end for end, so its handset receipt is
    published first. Each entry is then lost or duplicated by its own draw; a duplicate
    comes 1 ms (plus up to the delay jitter) after the original.
    """
    key, seed = record.client_key, config.seed
    delay = receipt_delay(config, key)
    stages = STAGES[record.channel] if config.receipt_stages else ("handset",)
    stage = failure_stage(record.code) if record.outcome == "failed" else None
    if stage in stages[:-1]:
        # Refused by the carrier, say: no later stage ever reports on it.
        stages = stages[: stages.index(stage) + 1]
    count = len(stages)
    times = [accepted_at + delay * (i + 1) // count for i in range(count)]
    planned = [
        PlannedReceipt(stage, IN_FLIGHT, None, None, due)
        for stage, due in zip(stages[:-1], times, strict=False)
    ]
    planned.append(
        PlannedReceipt(stages[-1], record.outcome, record.code, record.reason, times[-1])
    )
    if count > 1 and fraction(seed, "receipt-reorder", key) < config.receipt_reorder_rate:
        planned = [
            PlannedReceipt(p.stage, p.status, p.code, p.reason, due)
            for p, due in zip(reversed(planned), times, strict=True)
        ]
    low, high = config.receipt_delay_range
    events: list[PlannedReceipt] = []
    for p in planned:
        if fraction(seed, f"receipt-loss:{p.stage}", key) < config.receipt_loss_rate:
            continue
        events.append(p)
        if fraction(seed, f"receipt-dup:{p.stage}", key) < config.receipt_duplicate_rate:
            lag = 1 + int(fraction(seed, f"receipt-lag:{p.stage}", key) * (high - low))
            events.append(PlannedReceipt(p.stage, p.status, p.code, p.reason, p.due_at + lag))
    final_due = next(p.due_at for p in planned if p.stage == stages[-1])
    return ReceiptPlan(final_due, tuple(events))
