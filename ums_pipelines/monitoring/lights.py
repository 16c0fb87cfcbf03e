"""Traffic lights from a snapshot and the thresholds of ``MonitoringSettings``.

- channel: the share of final failures among messages finished in the window (a leg
  that fell back is not held against its channel: a customer without KakaoTalk is not
  an outage), and the p95 of submitted-to-delivered; both only with at least
  ``monitoring_min_sample`` finished messages;
- provider: the same failure share, and its circuit (open red, half-open amber);
- lane: the age of its oldest due message in the outbox, against the lane's own limits;
- agents: amber when a registered agent died, red when none of them is alive.

The overall light is the worst of all. Each light names its reasons.
"""

from __future__ import annotations

from collections import defaultdict

from ums_pipelines.monitoring.model import LIGHTS, Light, Snapshot
from ums_pipelines.settings import Settings

__all__ = ["judge", "level", "worst"]


def level(value: float | None, amber: float, red: float) -> str:
    if value is None:
        return "green"
    if value >= red:
        return "red"
    if value >= amber:
        return "amber"
    return "green"


def worst(states: list[str]) -> str:
    return max(states, key=LIGHTS.index, default="green")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _failure_lights(
    counts: dict[str, list[int]], settings: Settings
) -> dict[str, tuple[str, list[str]]]:
    out = {}
    for name, (delivered, failed) in counts.items():
        done = delivered + failed
        share = failed / done if done >= settings.monitoring_min_sample else None
        state = level(share, settings.monitoring_failure_amber, settings.monitoring_failure_red)
        reasons = [f"failures {_pct(share)} of {done}"] if state != "green" and share else []
        out[name] = (state, reasons)
    return out


def judge(snap: Snapshot, settings: Settings) -> list[Light]:
    per_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_provider: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in snap.rates:
        for table, key in ((per_channel, r.channel), (per_provider, r.provider)):
            table[key][0] += r.delivered
            table[key][1] += r.failed
    seen_channels = {s.channel for s in snap.stages} | set(per_channel)
    seen_providers = {s.provider for s in snap.stages} | set(per_provider)
    seen_providers |= {c.provider for c in snap.circuits}
    lights: list[Light] = []

    channel = _failure_lights(dict(per_channel), settings)
    for lat in snap.latencies:
        if lat.leg != "submitted_to_delivered" or lat.samples < settings.monitoring_min_sample:
            continue
        state = level(
            lat.p95_s,
            settings.monitoring_delivery_p95_amber_s,
            settings.monitoring_delivery_p95_red_s,
        )
        if state != "green":
            was, reasons = channel.get(lat.channel, ("green", []))
            reasons = [*reasons, f"p95 submitted→delivered {lat.p95_s:.0f} s"]
            channel[lat.channel] = (worst([was, state]), reasons)
    for name in sorted(seen_channels):
        state, reasons = channel.get(name, ("green", []))
        lights.append(Light("channel", name, state, reasons))

    provider = _failure_lights(dict(per_provider), settings)
    for c in snap.circuits:
        was, reasons = provider.get(c.provider, ("green", []))
        if c.state == "open":
            provider[c.provider] = ("red", [*reasons, "circuit open"])
        elif c.state == "half_open":
            provider[c.provider] = (worst([was, "amber"]), [*reasons, "circuit half-open"])
    for name in sorted(seen_providers):
        state, reasons = provider.get(name, ("green", []))
        lights.append(Light("provider", name, state, reasons))

    for b in snap.backlog:
        amber, red = settings.backlog_limits(b.lane)
        state = level(b.oldest_due_age_s, amber, red)
        reasons = [f"oldest due {b.oldest_due_age_s:.0f} s"] if state != "green" else []
        lights.append(Light("lane", b.lane, state, reasons))

    agents = [a for a in snap.agents if a.kind == "agent" and a.state != "stopped"]
    dead = [a.agent_id for a in agents if a.state == "dead"]
    if agents:
        alive = len(agents) - len(dead)
        state = "red" if dead and not alive else ("amber" if dead else "green")
        reasons = [f"{len(dead)} dead, {alive} alive"] if dead else []
        lights.append(Light("agents", "agents", state, reasons))

    overall = worst([x.state for x in lights])
    why = [f"{x.kind} {x.name}: {', '.join(x.reasons)}" for x in lights if x.state == overall]
    return [Light("overall", "ums", overall, why if overall != "green" else []), *lights]
