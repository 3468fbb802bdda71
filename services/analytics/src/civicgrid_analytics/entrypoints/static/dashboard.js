// The city screen: first the whole snapshot over HTTP, then live snapshots over SSE.
"use strict";
(function () {
  const hasCharts = typeof window.echarts !== "undefined";
  const charts = {};
  function chart(id) {
    if (!hasCharts) return null;
    if (!charts[id]) charts[id] = window.echarts.init(document.getElementById(id), "dark");
    return charts[id];
  }
  const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
  const num = (v) => (v === null || v === undefined ? "–" : String(v));
  const esc = (s) => String(s === null || s === undefined ? "–" : s)
    .replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const label = (row) => (row.name ? row.name : row.key);

  function setText(id, value) { document.getElementById(id).textContent = value; }

  function table(id, head, rows) {
    const el = document.getElementById(id);
    if (!rows.length) { el.innerHTML = '<tr><td class="empty">无 none</td></tr>'; return; }
    el.innerHTML = "<tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr>" +
      rows.map((r) => "<tr>" + r.map((c) => (typeof c === "number"
        ? '<td class="num">' + c + "</td>" : "<td>" + esc(c) + "</td>")).join("") + "</tr>").join("");
  }

  function render(d) {
    setText("fig-received", num(d.today.received));
    setText("fig-accepted", num(d.today.accepted));
    setText("fig-disposed", num(d.today.disposed));
    setText("fig-closed", num(d.today.closed));
    setText("fig-overdue", num(d.today.overdue_open));
    setText("fig-disposal", pct(d.month.disposal_rate));
    setText("fig-response", pct(d.month.response_rate));
    setText("fig-satisfaction", pct(d.month.satisfaction_rate));
    setText("clock", new Date(d.now).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }));

    // Legends on top, and the plot area sized around its axis labels (containLabel), so
    // that neither covers the other whatever the names' lengths.
    const trendSeries = [["受理 received", "received"], ["立案 accepted", "accepted"],
      ["办结 disposed", "disposed"], ["结案 closed", "closed"]];
    const trend = chart("chart-trend");
    if (trend) trend.setOption({
      backgroundColor: "transparent", tooltip: { trigger: "axis" },
      legend: { top: 0, data: trendSeries.map(([n]) => n) },
      grid: { left: 8, right: 16, top: 36, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: d.trend.map((r) => r.day.slice(5)) },
      yAxis: { type: "value", minInterval: 1 },
      series: trendSeries.map(([n, k]) => ({
        name: n, type: "line", smooth: true, data: d.trend.map((r) => r[k] || 0) })),
    });
    const counties = chart("chart-counties");
    if (counties) counties.setOption({
      backgroundColor: "transparent", tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["处置率", "响应率", "满意率"] },
      grid: { left: 8, right: 16, top: 36, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: d.counties.map(label),
               axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value", max: 100 },
      series: [["处置率", "disposal_rate"], ["响应率", "response_rate"], ["满意率", "satisfaction_rate"]]
        .map(([n, k]) => ({ name: n, type: "bar",
          data: d.counties.map((r) => (r[k] === null ? null : +(100 * r[k]).toFixed(1))) })),
    });
    const matters = chart("chart-matters");
    if (matters) matters.setOption({
      backgroundColor: "transparent", tooltip: {},
      grid: { left: 8, right: 20, top: 10, bottom: 4, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: d.matters.map(label) },
      series: [{ type: "bar", data: d.matters.map((r) => r.received) }],
    });
    table("tbl-townships", ["乡镇街道", "受理", "处置率", "满意率", "超期"],
      d.townships.map((r) => [label(r), r.received, pct(r.disposal_rate), pct(r.satisfaction_rate), r.overdue_open]));
    table("tbl-overdue", ["案件", "事项", "单位", "超期(h)"],
      d.overdue.map((r) => [r.case_number || (r.case_id || "").slice(0, 8),
        r.matter_name || r.matter_code, r.unit_name || r.unit_id, r.hours_overdue]));
    table("tbl-hotspots", ["日期", "乡镇街道", "事项", "24h", "基线/日"],
      d.hotspots.map((r) => [r.day, r.township_name || r.township_code, r.matter_name || r.matter_code, r.cases_24h, +(+r.baseline_daily).toFixed(1)]));
    table("tbl-units", ["#", "单位", "得分", "案件"],
      d.units.map((r) => [r.rank, r.name || r.key, r.score, r.cases]));
  }

  function live() {
    const source = new EventSource("/v1/stream");
    source.addEventListener("snapshot", (ev) => {
      render(JSON.parse(ev.data));
      document.body.dataset.live = "1";
      document.body.dataset.updates = String(+(document.body.dataset.updates || 0) + 1);
      setText("status", "实时 live" + (hasCharts ? "" : " (no charts: ECharts missing)"));
    });
    source.onerror = () => { document.body.dataset.live = "0"; setText("status", "重连中 reconnecting…"); };
  }

  fetch("/v1/dashboard/data").then((r) => r.json()).then(render).catch(() => {}).finally(live);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
})();
