// The screen board: fetches /api/snapshot every data-refresh-ms and redraws in place.
// Everything is built with DOM calls and textContent (no innerHTML): no value from the
// store can become markup. window.boardState survives refreshes; a reload resets it.
"use strict";
(() => {
  const body = document.body;
  const refreshMs = Number(body.dataset.refreshMs) || 5000;
  const tz = body.dataset.timezone || "Asia/Seoul";
  const SVG = "http://www.w3.org/2000/svg";
  const LABELS = {
    queued: "대기 Queued", held: "보류 Held", claimed: "점유 Claimed",
    submitted: "중계사 Relay", carrier: "통신사 Carrier", delivered: "도달 Delivered",
    failed: "실패 Failed", fell_back: "대체 Fell back", expired: "만료 Expired",
    cancelled: "취소 Cancelled",
  };
  const LIGHT_TEXT = { green: "정상 OK", amber: "주의 Warning", red: "장애 Alert" };
  const num = new Intl.NumberFormat("ko-KR");
  const clock = new Intl.DateTimeFormat("ko-KR", {
    timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const history = [];
  window.boardState = { loadedAt: Date.now(), refreshes: 0 };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const cell = (v, extra) => {
    const zero = v === 0 ? " zero" : "";
    return el("td", { class: "n" + zero, ...extra }, typeof v === "number" ? num.format(v) : v);
  };
  const dash = (v, digits) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
  const age = (s) => {
    if (s === null || s === undefined) return "–";
    const m = Math.floor(s / 60);
    return m ? `${m}분 ${Math.round(s % 60)}초` : `${Math.round(s)}초`;
  };

  function fill(id, head, rows) {
    const table = document.getElementById(id);
    const thead = el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h))));
    const tbody = el("tbody", {}, ...rows);
    table.replaceChildren(thead, tbody);
  }

  function lightOf(snap, kind, name) {
    return snap.lights.find((l) => l.kind === kind && l.name === name) || { state: "green", reasons: [] };
  }

  function tiles(snap, kind, id, figures) {
    const names = snap.lights.filter((l) => l.kind === kind);
    const box = document.getElementById(id);
    box.replaceChildren(...names.map((l) => el("div",
      { class: `tile ${l.state}`, "data-name": l.name, "data-state": l.state },
      el("div", { class: "name" }, el("span", { class: `dot ${l.state}` }), l.name),
      el("div", { class: "figures" }, figures(l.name)),
      el("div", { class: "why" }, l.reasons.join(" · ") || LIGHT_TEXT[l.state]))));
  }

  function rateFigures(snap, key) {
    return (name) => {
      const rows = snap.rates.filter((r) => r[key] === name);
      const sum = (f) => rows.reduce((a, r) => a + r[f], 0);
      return `발송 ${dash(sum("sent_per_min"), 1)} · 도달 ${dash(sum("delivered_per_min"), 1)}`
        + ` · 실패 ${dash(sum("failed_per_min"), 1)} /분`;
    };
  }

  function stageTable(snap) {
    const stages = snap.stage_names;
    const table = document.getElementById("stage-table");
    table.dataset.takenAt = snap.taken_at;
    const head = el("tr", {}, el("th", {}, "채널 Channel"), ...stages.map((s) => el("th", {}, LABELS[s] || s)));
    const rows = Object.keys(snap.by_channel).sort().map((ch) => el("tr", { "data-channel": ch },
      el("th", {}, ch),
      ...stages.map((s) => cell(snap.by_channel[ch][s], { "data-stage": s, "data-channel": ch }))));
    const total = el("tr", { id: "stage-total" }, el("td", {}, "합계 Total"),
      ...stages.map((s) => cell(snap.stage_totals[s], { "data-stage": s, "data-channel": "*" })));
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows), el("tfoot", {}, total));
    const since = new Date(snap.since);
    document.getElementById("since-note").textContent =
      `대기~통신사: 현재 건수 · 도달~취소: 오늘 ${clock.format(since)} 이후 (live stages now; final stages since the day began)`;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function rateChart() {
    const chart = document.getElementById("rate-chart");
    const W = 600, H = 180, pad = 30;
    const max = Math.max(1, ...history.flatMap((h) => [h.sent, h.delivered, h.failed]));
    const x = (i) => pad + (i * (W - 2 * pad)) / Math.max(1, history.length - 1);
    const y = (v) => H - pad - (v * (H - 2 * pad)) / max;
    const parts = [svg("text", { x: 4, y: 16 }, `최대 ${dash(max, 1)} /분`)];
    for (const series of ["sent", "delivered", "failed"]) {
      const points = history.map((h, i) => `${x(i).toFixed(1)},${y(h[series]).toFixed(1)}`).join(" ");
      parts.push(svg("polyline", { class: series, points }));
    }
    parts.push(svg("text", { x: pad, y: H - 8 }, "발송 sent · 도달 delivered · 실패 failed"));
    chart.replaceChildren(...parts);
  }

  function stageChart(snap) {
    const chart = document.getElementById("stage-chart");
    const stages = snap.stage_names;
    const W = 600, H = 180, pad = 24;
    const max = Math.max(1, ...stages.map((s) => snap.stage_totals[s]));
    const w = (W - 2 * pad) / stages.length;
    const parts = [];
    stages.forEach((s, i) => {
      const v = snap.stage_totals[s];
      const h = (v * (H - 3 * pad)) / max;
      parts.push(svg("rect", { class: `bar bar-${s}`, x: pad + i * w + 4, y: H - 2 * pad - h,
        width: w - 8, height: Math.max(h, 0), "data-stage": s, "data-count": v }));
      parts.push(svg("text", { x: pad + i * w + 4, y: H - 2 * pad - h - 4 }, num.format(v)));
      // Labels alternate between two lines: ten stages do not fit side by side.
      parts.push(svg("text", { class: "label", x: pad + i * w + 2, y: H - pad + (i % 2) * 14 - 4 },
        s.replace("_", " ")));
    });
    chart.replaceChildren(...parts);
  }

  function render(snap) {
    const overall = lightOf(snap, "overall", "ums");
    const badge = document.getElementById("overall");
    badge.className = `light light-${overall.state}`;
    badge.dataset.state = overall.state;
    badge.textContent = LIGHT_TEXT[overall.state];
    badge.title = overall.reasons.join("\n");
    const updated = document.getElementById("updated-at");
    updated.textContent = clock.format(new Date(snap.taken_at));
    updated.dateTime = snap.taken_at;
    tiles(snap, "channel", "channel-tiles", rateFigures(snap, "channel"));
    tiles(snap, "provider", "provider-tiles", (name) => {
      const c = snap.circuits.find((x) => x.provider === name);
      return c ? `회로 ${c.state}` + (c.per_second ? ` · ${num.format(c.per_second)}/s` : "") : "";
    });
    stageTable(snap);
    const sum = (f) => snap.rates.reduce((a, r) => a + r[f], 0);
    history.push({ sent: sum("sent_per_min"), delivered: sum("delivered_per_min"), failed: sum("failed_per_min") });
    if (history.length > 60) history.shift();
    rateChart();
    stageChart(snap);
    fill("backlog-table", ["차선 Lane", "대기", "기한 도래", "최고 대기", "미작성"], snap.backlog.map((b) =>
      el("tr", { "data-lane": b.lane },
        el("td", {}, el("span", { class: `dot ${lightOf(snap, "lane", b.lane).state}` }), b.lane),
        cell(b.waiting), cell(b.due), cell(age(b.oldest_due_age_s)), cell(b.unwritten))));
    fill("agent-table", ["에이전트 Agent", "상태", "하트비트", "점유", "발송"], snap.agents.map((a) =>
      el("tr", { "data-agent": a.agent_id },
        el("td", { class: "id", title: a.agent_id }, a.agent_id), el("td", {}, a.state), cell(age(a.heartbeat_age_s)),
        cell(a.claimed), cell(a.sent === null ? "–" : a.sent))));
    fill("circuit-table", ["사업자 Provider", "회로", "연속 실패", "개방 횟수", "초당 한도", "계수"], snap.circuits.map((c) =>
      el("tr", { "data-provider": c.provider },
        el("td", { class: "id" }, c.provider), el("td", {}, c.state), cell(c.failures), cell(c.times_opened),
        cell(c.per_second === null ? "–" : c.per_second), cell(dash(c.rate_factor, 2)))));
    const worst = [...snap.failures].sort((a, b) => b.count - a.count).slice(0, 8);
    fill("failure-table", ["단계", "위치", "사유", "채널", "건수"], worst.map((f) =>
      el("tr", {}, el("td", {}, f.stage), el("td", {}, f.at), el("td", {}, f.reason),
        el("td", {}, f.channel), cell(f.count))));
    fill("latency-table", ["구간 Leg", "채널", "p50", "p95", "표본"], snap.latencies.map((l) =>
      el("tr", {}, el("td", {}, l.leg.replaceAll("_", " ")), el("td", {}, l.channel),
        cell(dash(l.p50_s, 1)), cell(dash(l.p95_s, 1)), cell(l.samples))));
    const flow = [
      ...Object.entries(snap.jobs).map(([k, v]) => ["작업 job", k, v]),
      ...Object.entries(snap.approvals_pending).map(([k, v]) => ["결재 대기 pending", k, v]),
      ...Object.entries(snap.content).map(([k, v]) => ["콘텐츠 content", k, v]),
    ];
    fill("workflow-table", ["구분", "상태", "건수"], flow.map(([a, b, c]) =>
      el("tr", {}, el("td", {}, a), el("td", {}, b.replaceAll("_", " ")), cell(c))));
  }

  async function refresh() {
    try {
      const response = await fetch("/api/snapshot", { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const snap = await response.json();
      render(snap);
      window.boardState.refreshes += 1;
      body.dataset.refreshes = String(window.boardState.refreshes);
      document.getElementById("stale").hidden = true;
      return snap.taken_at;
    } catch (err) {
      document.getElementById("stale").hidden = false;
      return null;
    }
  }

  async function loop() {
    await refresh();
    setTimeout(loop, refreshMs);
  }
  window.boardRefresh = refresh;
  loop();
})();
