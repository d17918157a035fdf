// herdgate dashboard: one page, no framework, plots with the vendored uPlot. Reads herd-api's
// JSON endpoints (README, "Query API") and refreshes itself.
(function () {
  "use strict";
  const refreshS = Number(document.querySelector('meta[name="herd-refresh-s"]').content) || 30;
  const maxPlots = 12;
  let token = localStorage.getItem("herdToken") || "";
  let picked = new URLSearchParams(location.search).get("animal") || "";

  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  };
  const ago = (iso) => {
    const s = (Date.now() - Date.parse(iso)) / 1000;
    if (s < 3600) return Math.max(0, Math.round(s / 60)) + " min ago";
    if (s < 172800) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  };

  async function get(path) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const r = await fetch(path, { headers, cache: "no-store" });
    if (r.status === 401) {
      document.getElementById("token-box").hidden = false;
      throw new Error("a token is required to read");
    }
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  function renderSummary(s) {
    const box = document.getElementById("summary");
    box.replaceChildren();
    const card = (label, value, id) => box.append(el("div", { class: "card", id }, el("b", {}, value), label));
    card("animals", s.animals, "card-animals");
    card("active alerts", s.active_alerts.total, "card-alerts");
    const deviceKinds = ["device_offline", "collar_fallen_off", "low_battery"];  // shown as device cards
    for (const [kind, c] of Object.entries(s.active_alerts.by_kind)) {
      if (!deviceKinds.includes(kind)) card(kind.replace(/_/g, " "), c.total, "card-" + kind);
    }
    card("devices offline", s.devices.offline, "card-offline");
    card("collars fallen off", s.devices.fallen_off, "card-fallen");
    card("low battery", s.devices.low_battery, "card-battery");
    const lag = s.projector.event_time_lag_s;
    card("projector lag", lag === null ? "–" : lag < 120 ? Math.round(lag) + " s" : Math.round(lag / 60) + " min", "card-lag");
    const dev = document.querySelector("#devices tbody");
    dev.replaceChildren();
    for (const d of s.devices.needing_service) {
      dev.append(el("tr", { class: "device", "data-animal": d.animal_id },
        el("td", {}, d.animal_id), el("td", {}, d.device_id || "–"), el("td", {}, d.problem.replace(/_/g, " ")),
        el("td", { title: d.since }, ago(d.since))));
    }
    if (!s.devices.needing_service.length) dev.append(el("tr", {}, el("td", { colspan: 4 }, "none")));
  }

  const rank = { critical: 0, warning: 1, info: 2 };
  function renderAlerts(list) {
    const body = document.querySelector("#alerts tbody");
    body.replaceChildren();
    list.sort((a, b) => rank[a.severity] - rank[b.severity] || a.animal_id.localeCompare(b.animal_id));
    for (const a of list) {
      body.append(el("tr", { class: "alert " + a.severity, "data-alert-id": a.alert_id, "data-animal": a.animal_id },
        el("td", {}, a.severity), el("td", {}, a.animal_id), el("td", {}, a.kind.replace(/_/g, " ")),
        el("td", { title: a.raised_at }, ago(a.raised_at)), el("td", {}, a.evidence || ""),
        el("td", {}, a.acknowledged_at ? "✓ " + (a.acknowledged_by || "") : "")));
    }
    if (!list.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "no active alerts")));
  }

  // Vertical lines at the alerts' raised (red) and resolved (grey) times.
  function alertMarks(alerts) {
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          for (const a of alerts) {
            for (const [iso, colour] of [[a.raised_at, "#c62828"], [a.resolved_at, "#9e9e9e"]]) {
              if (!iso) continue;
              const x = u.valToPos(Date.parse(iso) / 1000, "x", true);
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.strokeStyle = colour;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
          }
          ctx.restore();
        }],
      },
    };
  }

  async function renderPlot(container, animal) {
    const d = await get("/api/v1/animals/" + encodeURIComponent(animal) + "/series?hours=168");
    const s = d.series;
    const width = Math.max(320, Math.min(960, document.body.clientWidth - 20));
    const box = el("div", { class: "plot", "data-animal": animal, "data-alerts": d.alerts.length },
      el("h3", {}, animal + (d.alerts.length ? " · " + d.alerts.map((a) => a.kind).join(", ") : "")));
    container.append(box);
    const common = { width, height: 150, plugins: [alertMarks(d.alerts)], legend: { show: true } };
    const chart = (title, label, values, colour) => new uPlot(
      Object.assign({ title, series: [{}, { label, stroke: colour, spanGaps: false }], scales: { x: { time: true } },
        axes: [{}, { size: 60 }] }, common),
      [s.time_s, values], box);
    chart("temperature", "°C", s.body_temp_c, "#d84315");
    chart("activity", "steps/h", s.activity_steps_per_h, "#1565c0");
    chart("rumination", "min/h", s.rumination_min_per_h, "#2e7d32");
  }

  async function refresh() {
    const status = document.getElementById("status");
    try {
      const [summary, alerts] = await Promise.all([get("/api/v1/summary"), get("/api/v1/alerts?status=active&limit=1000")]);
      renderSummary(summary);
      renderAlerts(alerts.alerts);
      const animals = [];
      if (picked) animals.push(picked);
      for (const a of alerts.alerts) if (!animals.includes(a.animal_id)) animals.push(a.animal_id);
      const plots = document.createElement("div");
      for (const id of animals.slice(0, maxPlots)) {
        try { await renderPlot(plots, id); } catch (e) { plots.append(el("p", { class: "error" }, id + ": " + e.message)); }
      }
      document.getElementById("plots").replaceWith(Object.assign(plots, { id: "plots" }));
      status.textContent = "updated " + new Date().toLocaleTimeString() + " · " + summary.read_model;
      status.className = "";
    } catch (e) {
      status.textContent = "not updated: " + e.message;
      status.className = "error";
    }
    document.body.dataset.ready = "1";
  }

  document.getElementById("token-save").addEventListener("click", () => {
    token = document.getElementById("token").value;
    localStorage.setItem("herdToken", token);
    document.getElementById("token-box").hidden = true;
    refresh();
  });
  document.getElementById("pick").addEventListener("submit", (ev) => {
    ev.preventDefault();
    picked = document.getElementById("animal").value.trim();
    refresh();
  });
  refresh();
  setInterval(refresh, refreshS * 1000);
})();
