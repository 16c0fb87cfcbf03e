"""How the gateway simulator behaves: latency, failure rates, faults, registered senders."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Endpoint", "ResetAccepts", "SendFaults", "SimConfig"]

# The HTTP send endpoints: SMS relay batch, AlimTalk batch, FCM v1 push.
Endpoint = Literal["sms", "alimtalk", "push", "rcs"]
# Whether a request whose connection is reset was recorded first: never, always, or
# one half of them (a seeded draw per request).
ResetAccepts = Literal["never", "always", "half"]
_Share = Field(default=0.0, ge=0.0, le=1.0)
_Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class SendFaults(BaseModel):
    """Faults injected into one send endpoint's requests (all off by default).

    Each request draws one number from (seed, endpoint, request number); 5xx, timeout
    and reset take disjoint slices of [0, 1), so the shares are exact and add up.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_rate_5xx: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share answered 503; nothing is recorded."
    )
    timeout_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share recorded in the ledger but answered only after hang_ms.",
    )
    hang_ms: int = Field(default=30_000, ge=0, description="How long a timed-out request hangs.")
    reset_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share whose connection is reset, no response."
    )
    reset_accepts: ResetAccepts = "half"
    burst_period_s: float = Field(
        default=0.0, ge=0.0, description="429 bursts recur this often; 0 turns them off."
    )
    burst_duration_s: float = Field(
        default=0.0, ge=0.0, description="Each burst: every send request answered 429."
    )

    @model_validator(mode="after")
    def _check(self) -> SendFaults:
        if self.error_rate_5xx + self.timeout_rate + self.reset_rate > 1.0:
            raise ValueError("error_rate_5xx + timeout_rate + reset_rate must not exceed 1")
        if self.burst_period_s and self.burst_duration_s > self.burst_period_s:
            raise ValueError("burst_duration_s must not exceed burst_period_s")
        return self


class SimConfig(BaseModel):
    """Knobs of the simulated providers.

    Every per-message outcome is a pure function of ``seed`` and the message's
    idempotency key (or, for Kakao membership, the phone number), so two runs with the
    same seed and the same traffic produce the same ledger. Request-level faults draw
    from the request's number per endpoint, so a sequential client sees the same
    pattern on every run; 429 bursts follow the clock since the simulator started.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    latency_ms: tuple[int, int] = Field(
        default=(0, 5), description="Uniform per-request latency range, inclusive."
    )
    failure_rate: float = Field(
        default=0.03, ge=0.0, le=1.0, description="Share of messages failing at the handset."
    )
    failure_rates: dict[Endpoint, float] = Field(
        default_factory=dict,
        description="Per send endpoint (one provider), the share of its messages failing at"
        " the handset, in place of failure_rate: one provider failing, the others healthy.",
    )
    kakao_non_user_rate: float = Field(
        default=0.15, ge=0.0, le=1.0, description="Share of phone numbers without KakaoTalk."
    )
    rcs_incapable_rate: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Share of phone numbers without an RCS handset."
    )
    kakao_ad_hours: tuple[_Clock, _Clock] | None = Field(
        default=None,
        description="KST (from, until) when Kakao takes FriendTalk and brand messages, e.g."
        " ('08:00', '20:50'); others are refused 3022. None (the default): any time, so"
        " runs are the same at every hour.",
    )
    receipt_delay_ms: int | tuple[int, int] = Field(
        default=100,
        description="Delay between acceptance and the final receipt; a (low, high) range"
        " draws a per-message delay from the seed.",
    )
    # Send-side faults for every send endpoint; endpoint_faults replaces them per endpoint.
    error_rate_5xx: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of send requests answered 503."
    )
    timeout_rate: float = _Share
    hang_ms: int = Field(default=30_000, ge=0)
    reset_rate: float = _Share
    reset_accepts: ResetAccepts = "half"
    burst_period_s: float = Field(default=0.0, ge=0.0)
    burst_duration_s: float = Field(default=0.0, ge=0.0)
    endpoint_faults: dict[Endpoint, SendFaults] = Field(default_factory=dict)
    rate_limits: dict[Endpoint, float] = Field(
        default_factory=dict,
        description="Messages per second per endpoint over a sliding 1-s window;"
        " a request that would exceed it is answered 429 as a whole.",
    )
    # Receipt feed faults. Any of these (or a delay range) switches the feed to events.
    receipt_loss_rate: float = _Share
    receipt_duplicate_rate: float = _Share
    receipt_reorder_rate: float = _Share
    receipt_stages: bool = Field(
        default=False, description="Also report relay (and carrier) stages before handset."
    )
    stage_failures: bool = Field(
        default=False,
        description="SMS failures fall at the relay (spam filter), the carrier (number not"
        " in service, carrier spam filter) or the handset (unreachable, expired), each with"
        " its registered code; off, every failure is the handset's E-HANDSET.",
    )
    registered_senders: list[str] | None = Field(
        default=None, description="Allowed SMS caller numbers; None accepts any 8-11 digits."
    )
    bounce_domains: list[str] = Field(default_factory=lambda: ["bounce.example"])
    max_batch: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _check(self) -> SimConfig:
        low, high = self.latency_ms
        if low < 0 or high < low:
            raise ValueError("latency_ms must be (low, high) with 0 <= low <= high")
        low, high = self.receipt_delay_range
        if low < 0 or high < low:
            raise ValueError("receipt_delay_ms must be >= 0, or (low, high) with 0 <= low <= high")
        if any(not 0.0 <= share <= 1.0 for share in self.failure_rates.values()):
            raise ValueError("failure_rates must be shares between 0 and 1")
        if any(limit <= 0 for limit in self.rate_limits.values()):
            raise ValueError("rate_limits must be positive messages per second")
        self.send_faults("sms")  # validates the shared fault fields together
        return self

    @property
    def receipt_delay_range(self) -> tuple[int, int]:
        delay = self.receipt_delay_ms
        return (delay, delay) if isinstance(delay, int) else delay

    @property
    def receipt_faults(self) -> bool:
        """Whether receipts go through the event feed (staged, lossy, jittered...)."""
        low, high = self.receipt_delay_range
        return (
            self.receipt_stages
            or low != high
            or self.receipt_loss_rate > 0
            or self.receipt_duplicate_rate > 0
            or self.receipt_reorder_rate > 0
        )

    def send_faults(self, endpoint: Endpoint) -> SendFaults:
        """The faults of one send endpoint: its own entry, else the shared fields."""
        own = self.endpoint_faults.get(endpoint)
        if own is not None:
            return own
        return SendFaults(
            error_rate_5xx=self.error_rate_5xx,
            timeout_rate=self.timeout_rate,
            hang_ms=self.hang_ms,
            reset_rate=self.reset_rate,
            reset_accepts=self.reset_accepts,
            burst_period_s=self.burst_period_s,
            burst_duration_s=self.burst_duration_s,
        )
