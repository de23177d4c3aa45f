// Inline SVG charts for the dashboard: a line chart over time and a horizontal bar chart.
(function (global) {
  "use strict";

  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"];

  function node(name, attributes, text) {
    const el = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attributes || {})) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  function compact(value) {
    const abs = Math.abs(value);
    if (abs >= 1e9) return (value / 1e9).toFixed(1) + "G";
    if (abs >= 1e6) return (value / 1e6).toFixed(1) + "M";
    if (abs >= 1e4) return (value / 1e3).toFixed(0) + "k";
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }

  function empty(svg, width, height) {
    svg.appendChild(node("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "chart-empty" }, "No data yet"));
    return svg;
  }

  function legend(svg, series, width) {
    let x = 48;
    series.forEach((s, i) => {
      svg.appendChild(node("rect", { x, y: 6, width: 10, height: 10, fill: s.color || COLORS[i % COLORS.length] }));
      const label = node("text", { x: x + 14, y: 15, class: "chart-legend" }, s.name);
      svg.appendChild(label);
      x += 24 + s.name.length * 7;
      if (x > width - 60) x = 48;
    });
  }

  /**
   * series: [{name, points: [[unixSeconds, value], ...], color?}]; options: {yFormat, percent}.
   * Returns an <svg>.
   */
  function line(series, options) {
    const opts = options || {};
    const width = opts.width || 520, height = opts.height || 220;
    const left = 48, right = 12, top = 26, bottom = 28;
    const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": opts.title || "chart" });
    const all = series.flatMap((s) => s.points.filter((p) => p[1] !== null && p[1] !== undefined));
    if (all.length === 0) return empty(svg, width, height);
    const xs = all.map((p) => p[0]);
    let x0 = Math.min(...xs), x1 = Math.max(...xs);
    if (x0 === x1) { x0 -= 3600; x1 += 3600; }
    const yMin = Math.min(0, ...all.map((p) => p[1]));
    const highest = Math.max(...all.map((p) => p[1]));
    const yMax = opts.percent ? Math.min(100, niceMax(Math.max(highest, 1))) : niceMax(highest);
    const sx = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
    const sy = (y) => top + (1 - (y - yMin) / (yMax - yMin || 1)) * (height - top - bottom);
    for (let i = 0; i <= 4; i++) {
      const value = yMin + ((yMax - yMin) * i) / 4;
      svg.appendChild(node("line", { x1: left, x2: width - right, y1: sy(value), y2: sy(value), class: "chart-grid" }));
      svg.appendChild(node("text", { x: left - 6, y: sy(value) + 4, "text-anchor": "end", class: "chart-axis" },
        compact(value) + (opts.percent ? "%" : "")));
    }
    const span = x1 - x0;
    for (let i = 0; i <= 3; i++) {
      const t = x0 + (span * i) / 3;
      const d = new Date(t * 1000);
      const label = span <= 2 * 86400 ? d.toISOString().slice(11, 16) : d.toISOString().slice(5, 10);
      const anchor = i === 0 ? "start" : i === 3 ? "end" : "middle";
      svg.appendChild(node("text", { x: sx(t), y: height - 8, "text-anchor": anchor, class: "chart-axis" }, label));
    }
    series.forEach((s, i) => {
      const color = s.color || COLORS[i % COLORS.length];
      const points = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
      if (points.length === 0) return;
      const d = points.map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`).join("");
      svg.appendChild(node("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
      for (const p of points) {
        const dot = node("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: color });
        dot.appendChild(node("title", {}, `${s.name}: ${compact(p[1])}${opts.percent ? "%" : ""}`));
        svg.appendChild(dot);
      }
    });
    legend(svg, series, width);
    return svg;
  }

  /** rows: [{label, values: [..]}] with one value per series name; horizontal grouped bars. */
  function bars(rows, seriesNames, options) {
    const opts = options || {};
    const width = opts.width || 520;
    const barHeight = 10, gap = 10, left = 150, right = 56, top = 26;
    const group = seriesNames.length * barHeight + gap;
    const height = Math.max(80, top + rows.length * group + 8);
    const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": opts.title || "chart" });
    if (rows.length === 0) return empty(svg, width, height);
    const max = niceMax(Math.max(...rows.flatMap((r) => r.values.map((v) => Math.abs(v || 0)))));
    const scale = (v) => (Math.abs(v || 0) / max) * (width - left - right);
    rows.forEach((row, i) => {
      const y = top + i * group;
      const label = row.label.length > 22 ? row.label.slice(0, 21) + "…" : row.label;
      svg.appendChild(node("text", { x: left - 8, y: y + group / 2, "text-anchor": "end", class: "chart-axis" }, label));
      row.values.forEach((v, j) => {
        const color = (v || 0) < 0 ? "#dc2626" : COLORS[j % COLORS.length];
        const rect = node("rect", { x: left, y: y + j * barHeight, width: Math.max(1, scale(v)), height: barHeight - 2, fill: color });
        rect.appendChild(node("title", {}, `${row.label} ${seriesNames[j]}: ${compact(v || 0)}`));
        svg.appendChild(rect);
        svg.appendChild(node("text", { x: left + scale(v) + 4, y: y + j * barHeight + 8, class: "chart-value" }, compact(v || 0)));
      });
    });
    legend(svg, seriesNames.map((name) => ({ name })), width);
    return svg;
  }

  global.SatmeterCharts = { line, bars };
})(window);
