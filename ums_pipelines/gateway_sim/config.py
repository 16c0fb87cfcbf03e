"""How the gateway simulator behaves: latency, failure rates, registered senders."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["SimConfig"]


class SimConfig(BaseModel):
    """Knobs of the simulated providers.

    Every per-message outcome is a pure function of ``seed`` and the message's
    idempotency key (or, for Kakao membership, the phone number), so two runs with the
    same seed and the same traffic produce the same ledger.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    latency_ms: tuple[int, int] = Field(
        default=(0, 5), description="Uniform per-request latency range, inclusive."
    )
    failure_rate: float = Field(
        default=0.03, ge=0.0, le=1.0, description="Share of messages failing at the handset."
    )
    kakao_non_user_rate: float = Field(
        default=0.15, ge=0.0, le=1.0, description="Share of phone numbers without KakaoTalk."
    )
    receipt_delay_ms: int = Field(
        default=100, ge=0, description="Delay between acceptance and a visible receipt."
    )
    error_rate_5xx: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of send requests answered 503."
    )
    registered_senders: list[str] | None = Field(
        default=None, description="Allowed SMS caller numbers; None accepts any 8-11 digits."
    )
    bounce_domains: list[str] = Field(default_factory=lambda: ["bounce.example"])
    max_batch: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _check_latency(self) -> SimConfig:
        low, high = self.latency_ms
        if low < 0 or high < low:
            raise ValueError("latency_ms must be (low, high) with 0 <= low <= high")
        return self
