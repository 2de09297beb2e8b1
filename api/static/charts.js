// ECS dashboard charts: inline SVG, no dependencies. Loaded before dashboard.js, which renders
// the insights with these functions. Every y axis comes from `axis`, so counts get whole-number
// ticks (never "2, 2, 1, 1, 0") and the top is a round number at or above the data.
"use strict";

const NS = "http://www.w3.org/2000/svg";
const COLORS = { stress: "#d9534f", positivity: "#2e8b57", intensity: "#9aa3b5", accent: "#3b5bdb",
  ok: "#2e8b57", warn: "#e8a33d", bad: "#d9534f", grid: "#e3e6ee" };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, parent) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function label(parent, x, y, text, attrs) {
  const node = el("text", { x, y, ...attrs }, parent);
  node.textContent = text;
  return node;
}

function canvas(id, width, height) {
  const host = $(id);
  host.replaceChildren();
  return el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" }, host);
}

function empty(svg, width, height, text) {
  label(svg, width / 2, height / 2, text || "No data in this window", {
    "text-anchor": "middle", class: "empty" });
}

// Ticks from 0 to a round top in steps of 1, 2, 2.5 or 5 times a power of ten (2.5 never for
// counts), at most `steps` of them. `integer` axes never step below 1.
function axis(maxValue, { integer = false, steps = 4 } = {}) {
  const max = maxValue > 0 ? maxValue : 1;
  const raw = max / steps;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const multipliers = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  let step = multipliers.map((m) => m * p).find((v) => v >= raw - 1e-12);
  if (integer) step = Math.max(1, Math.round(step));
  const count = Math.max(1, Math.ceil(max / step - 1e-9));
  const ticks = Array.from({ length: count + 1 }, (_, k) => Number((k * step).toFixed(10)));
  return { top: ticks[ticks.length - 1], ticks };
}

function yGrid(svg, { ticks, y, left, right, fmt }) {
  ticks.forEach((v) => {
    el("line", { x1: left, x2: right, y1: y(v), y2: y(v), stroke: COLORS.grid }, svg);
    label(svg, left - 6, y(v) + 4, fmt(v), { "text-anchor": "end", class: "tick" });
  });
}

function xLabels(svg, names, x, { y, width }) {
  const every = Math.ceil(names.length / (width / 100));
  names.forEach((name, i) => {
    const last = i === names.length - 1;
    if (i % every === 0 || last) {
      label(svg, x(i), y, name, { "text-anchor": last && names.length > 1 ? "end" : "middle" });
    }
  });
}

function legend(svg, series, { left, top }) {
  series.forEach((s, n) => {
    const lx = left + 10 + (n % 2) * 150 + Math.floor(n / 2) * 300;
    el("line", { x1: lx, x2: lx + 14, y1: top + 2, y2: top + 2, stroke: s.color, "stroke-width": 3,
      "stroke-dasharray": s.dash || "" }, svg);
    label(svg, lx + 20, top + 6, s.name, { class: "label" });
  });
}

// A line chart over categorical x (days/weeks); `yMax` and `steps` shape the axis.
function lineChart(id, xs, series, { yMax = 1, steps = 4, width = 1000, height = 220,
  fmt = (v) => v } = {}) {
  const W = width, H = height, L = 40, R = 16, T = 12, B = 28;
  const svg = canvas(id, W, H);
  if (!xs.length) { empty(svg, W, H); return; }
  const { top, ticks } = axis(yMax, { steps });
  const x = (i) => L + (xs.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (xs.length - 1));
  const y = (v) => T + (1 - v / top) * (H - T - B);
  yGrid(svg, { ticks, y, left: L, right: W - R, fmt });
  xLabels(svg, xs, x, { y: H - 8, width: W });
  series.forEach((s) => {
    const points = s.values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`)).filter(Boolean);
    el("polyline", { points: points.join(" "), fill: "none", stroke: s.color, "stroke-width": 2.5,
      "stroke-linejoin": "round", "stroke-dasharray": s.dash || "" }, svg);
    s.values.forEach((v, i) => {
      if (v !== null) el("circle", { cx: x(i), cy: y(v), r: 3, fill: s.color }, svg);
    });
  });
  legend(svg, series, { left: L, top: T });
}

// Vertical bars; each item {name, value, text}. `yMax` fixes the top (rates: 1); `integer`
// marks counts.
function barChart(id, items, { yMax, integer = false, color = COLORS.accent, height = 220,
  fmt = (v) => v } = {}) {
  const W = 500, H = height, L = 40, R = 8, T = 18, B = 30;
  const svg = canvas(id, W, H);
  if (!items.length || items.every((i) => !i.value)) { empty(svg, W, H); return; }
  const { top, ticks } = axis(yMax || Math.max(...items.map((i) => i.value)), { integer });
  const y = (v) => T + (1 - v / top) * (H - T - B);
  yGrid(svg, { ticks, y, left: L, right: W - R, fmt });
  const slot = (W - L - R) / items.length, bar = Math.min(56, slot * 0.7);
  items.forEach((item, i) => {
    const cx = L + slot * i + slot / 2;
    el("rect", { x: cx - bar / 2, y: y(item.value), width: bar, height: y(0) - y(item.value),
      rx: 3, fill: item.color || color, class: "bar" }, svg);
    label(svg, cx, y(item.value) - 5, item.text, { "text-anchor": "middle", class: "label" });
    label(svg, cx, H - 10, item.name, { "text-anchor": "middle" });
  });
}

// Stacked bars per category (days): `columns` are names, `series` [{name, color, values}].
function stackedBars(id, columns, series, { width = 1000, height = 220 } = {}) {
  const W = width, H = height, L = 40, R = 16, T = 24, B = 28;
  const svg = canvas(id, W, H);
  const totals = columns.map((_, i) => series.reduce((sum, s) => sum + s.values[i], 0));
  if (!columns.length || totals.every((t) => !t)) { empty(svg, W, H); return; }
  const { top, ticks } = axis(Math.max(...totals), { integer: true });
  const y = (v) => T + (1 - v / top) * (H - T - B);
  yGrid(svg, { ticks, y, left: L, right: W - R, fmt: String });
  const slot = (W - L - R) / columns.length, bar = Math.max(2, Math.min(28, slot * 0.7));
  const x = (i) => L + slot * i + slot / 2;
  columns.forEach((_, i) => {
    let base = 0;
    series.forEach((s) => {
      const v = s.values[i];
      if (!v) return;
      el("rect", { x: x(i) - bar / 2, y: y(base + v), width: bar, height: y(base) - y(base + v),
        fill: s.color, class: "bar" }, svg);
      base += v;
    });
  });
  xLabels(svg, columns, x, { y: H - 8, width: W });
  legend(svg, series, { left: L, top: 4 });
}

// Horizontal bars for ranked counts.
function hBars(id, items) {
  const row = 24, W = 1000, L = 260, H = Math.max(items.length * row + 8, 60);
  const svg = canvas(id, W, H);
  if (!items.length) { empty(svg, W, H); return; }
  const max = Math.max(...items.map((i) => i.value));
  items.forEach((item, i) => {
    const yy = 4 + i * row;
    label(svg, L - 8, yy + 15, item.name, { "text-anchor": "end", class: "label" });
    const w = ((W - L - 80) * item.value) / max;
    el("rect", { x: L, y: yy + 3, width: Math.max(w, 2), height: row - 8, rx: 3, fill: COLORS.accent,
      class: "bar" }, svg);
    label(svg, L + w + 6, yy + 15, item.text);
  });
}

// Half-circle gauge for the PSI on 0..0.5 with the conventional zones.
function gauge(id, value, reading) {
  const W = 500, H = 220, cx = 250, cy = 180, r = 130, max = 0.5;
  const svg = canvas(id, W, H);
  const point = (v, radius) => {
    const a = Math.PI * (1 - Math.min(v, max) / max);
    return [cx + radius * Math.cos(a), cy - radius * Math.sin(a)];
  };
  const arc = (from, to, color) => {
    const [x1, y1] = point(from, r), [x2, y2] = point(to, r);
    el("path", { d: `M ${x1} ${y1} A ${r} ${r} 0 0 1 ${x2} ${y2}`, fill: "none", stroke: color,
      "stroke-width": 26 }, svg);
  };
  arc(0, 0.1, COLORS.ok); arc(0.1, 0.25, COLORS.warn); arc(0.25, max, COLORS.bad);
  [0, 0.1, 0.25, 0.5].forEach((v) => {
    const [x, y] = point(v, r + 24);
    label(svg, x, y + 4, String(v), { "text-anchor": "middle" });
  });
  if (value !== null) {
    const [x, y] = point(value, r - 22);
    el("line", { x1: cx, y1: cy, x2: x, y2: y, stroke: "#1d2433", "stroke-width": 4,
      "stroke-linecap": "round" }, svg);
    el("circle", { cx, cy, r: 7, fill: "#1d2433" }, svg);
  }
  const tone = { "stable": "t-ok", "moderate shift": "t-warn", "significant shift": "t-bad" };
  label(svg, cx, cy + 34, value === null ? "PSI –" : `PSI ${value.toFixed(3)}`, {
    "text-anchor": "middle", class: "big" });
  label(svg, cx, cy - 44, reading, { "text-anchor": "middle", class: "big " + (tone[reading] || "") });
}
