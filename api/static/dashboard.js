// ECS insights dashboard: vanilla JS, inline SVG, no dependencies, same-origin requests only.
// The bearer token lives in sessionStorage (this tab only). For screenshots and kiosks a token can
// be handed over in the URL fragment, /dashboard#token=<jwt>: fragments are never sent to the
// server, and the fragment is removed from the address bar as soon as it has been read.
"use strict";

const NS = "http://www.w3.org/2000/svg";
const KEY = "ecs.dashboard.token";
const COLORS = { stress: "#d9534f", positivity: "#2e8b57", intensity: "#9aa3b5", accent: "#3b5bdb",
  ok: "#2e8b57", warn: "#e8a33d", bad: "#d9534f", grid: "#e3e6ee" };
const $ = (id) => document.getElementById(id);

// --- session -------------------------------------------------------------------------------------

function takeFragmentToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function token() { return sessionStorage.getItem(KEY); }

function showSignedIn(on) {
  $("login").hidden = on;
  $("signed-in").hidden = !on;
  $("content").hidden = !on;
}

function say(text) { $("message").textContent = text || ""; }

async function signIn(event) {
  event.preventDefault();
  say("");
  const body = new URLSearchParams({ username: $("username").value, password: $("password").value });
  const response = await fetch("/v1/auth/token", { method: "POST", body });
  if (!response.ok) { say((await problem(response)) || "Sign-in failed."); return; }
  sessionStorage.setItem(KEY, (await response.json()).access_token);
  $("password").value = "";
  await load();
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  showSignedIn(false);
  say(message);
}

async function problem(response) {
  try { return (await response.json()).detail; } catch { return null; }
}

async function get(path) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + token() } });
  if (response.status === 401) throw new AuthError("Your session has expired; sign in again.");
  if (response.status === 403) throw new AuthError("These insights need the analyst role.");
  if (!response.ok) throw new Error((await problem(response)) || "HTTP " + response.status);
  return response.json();
}

class AuthError extends Error {}

async function load() {
  if (!token()) { showSignedIn(false); return; }
  const days = Number($("days").value);
  try {
    const [emotions, credit, model] = await Promise.all([
      get(`/v1/insights/emotions?days=${days}`),
      get(`/v1/insights/credit?days=${days}`),
      get(`/v1/insights/model?days=${Math.max(days, 14)}`),
    ]);
    showSignedIn(true);
    say("");
    render(emotions, credit, model);
  } catch (error) {
    if (error instanceof AuthError) signOut(error.message);
    else say("Could not load the insights: " + error.message);
  }
}

// --- formatting ------------------------------------------------------------------------------------

const pct = (x) => (x === null || x === undefined ? "–" : Math.round(x * 100) + "%");
const money = (x) => (x === null || x === undefined ? "–"
  : Number(x).toLocaleString("en-US", { maximumFractionDigits: 0 }));
const rate = (x) => (x === null || x === undefined ? "–" : (Number(x) * 100).toFixed(2) + "%");
const shortMoney = (x) => (x >= 1000 ? (x / 1000).toLocaleString("en-US") + "k" : String(x));

// --- SVG helpers -----------------------------------------------------------------------------------

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

// A line chart over categorical x (days/weeks); values are 0..yMax.
function lineChart(id, xs, series, { yMax = 1, width = 1000, height = 220, ticks = 4, fmt = (v) => v } = {}) {
  const W = width, H = height, L = 40, R = 16, T = 12, B = 28;
  const svg = canvas(id, W, H);
  if (!xs.length) { empty(svg, W, H); return; }
  const x = (i) => L + (xs.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (xs.length - 1));
  const y = (v) => T + (1 - v / yMax) * (H - T - B);
  for (let t = 0; t <= ticks; t++) {
    const v = (yMax * t) / ticks;
    el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: COLORS.grid }, svg);
    label(svg, L - 6, y(v) + 4, fmt(v), { "text-anchor": "end" });
  }
  const every = Math.ceil(xs.length / (W / 100));
  xs.forEach((name, i) => {
    const last = i === xs.length - 1;
    if (i % every === 0 || last) {
      label(svg, x(i), H - 8, name, { "text-anchor": last && xs.length > 1 ? "end" : "middle" });
    }
  });
  series.forEach((s, n) => {
    const points = s.values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`)).filter(Boolean);
    el("polyline", { points: points.join(" "), fill: "none", stroke: s.color, "stroke-width": 2.5,
      "stroke-linejoin": "round", "stroke-dasharray": s.dash || "" }, svg);
    s.values.forEach((v, i) => {
      if (v !== null) el("circle", { cx: x(i), cy: y(v), r: 3, fill: s.color }, svg);
    });
    const lx = L + 10 + (n % 2) * 150 + Math.floor(n / 2) * 300;
    el("line", { x1: lx, x2: lx + 14, y1: T + 2, y2: T + 2, stroke: s.color, "stroke-width": 3,
      "stroke-dasharray": s.dash || "" }, svg);
    label(svg, lx + 20, T + 6, s.name, { class: "label" });
  });
}

// Vertical bars; each item {name, value, text}; value on 0..yMax.
function barChart(id, items, { yMax, color = COLORS.accent, height = 220, fmt = (v) => v } = {}) {
  const W = 500, H = height, L = 40, R = 8, T = 18, B = 30;
  const svg = canvas(id, W, H);
  if (!items.length || items.every((i) => !i.value)) { empty(svg, W, H); return; }
  const top = yMax || niceCeil(Math.max(...items.map((i) => i.value)));
  const y = (v) => T + (1 - v / top) * (H - T - B);
  for (let t = 0; t <= 4; t++) {
    const v = (top * t) / 4;
    el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: COLORS.grid }, svg);
    label(svg, L - 6, y(v) + 4, fmt(v), { "text-anchor": "end" });
  }
  const slot = (W - L - R) / items.length, bar = Math.min(56, slot * 0.7);
  items.forEach((item, i) => {
    const cx = L + slot * i + slot / 2;
    el("rect", { x: cx - bar / 2, y: y(item.value), width: bar, height: y(0) - y(item.value),
      rx: 3, fill: item.color || color }, svg);
    label(svg, cx, y(item.value) - 5, item.text, { "text-anchor": "middle", class: "label" });
    label(svg, cx, H - 10, item.name, { "text-anchor": "middle" });
  });
}

// The next "round" number (1, 2 or 5 times a power of ten) at or above x, for axis tops.
function niceCeil(x) {
  if (!(x > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= x);
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
    el("rect", { x: L, y: yy + 3, width: Math.max(w, 2), height: row - 8, rx: 3, fill: COLORS.accent }, svg);
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

// --- rendering -------------------------------------------------------------------------------------

function render(emotions, credit, model) {
  $("k").textContent = emotions.k_anonymity;
  $("kpi-decisions").textContent = credit.decisions.toLocaleString("en-US");
  $("kpi-approval").textContent = pct(credit.approval_rate);
  $("kpi-distress").textContent = pct(emotions.takeaways.distress_user_share_7d);
  $("kpi-backlog").textContent = credit.referred_backlog;

  const days = emotions.days;
  lineChart("chart-emotions", days.map((d) => d.day.slice(5)), [
    { name: "stress", color: COLORS.stress, values: days.map((d) => d.avg_stress) },
    { name: "positivity", color: COLORS.positivity, values: days.map((d) => d.avg_positivity) },
    { name: "intensity", color: COLORS.intensity, values: days.map((d) => d.avg_intensity), dash: "5 4" },
  ], { fmt: (v) => v.toFixed(2) });
  $("emotion-note").textContent = `${days.length} days shown` +
    (emotions.suppressed_days ? `, ${emotions.suppressed_days} hidden (< ${emotions.k_anonymity} users)` : "");
  const list = $("takeaways");
  list.replaceChildren(...emotions.takeaways.summary.map((s) => {
    const li = document.createElement("li"); li.textContent = s; return li;
  }));

  barChart("chart-bands", credit.bands.map((b) => ({ name: `${b.band} · ${rate(b.avg_interest_rate)}`,
    value: b.approval_rate, text: `${pct(b.approval_rate)} of ${b.decisions}` })),
  { yMax: 1, fmt: (v) => pct(v) });

  barChart("chart-limits", credit.limit_histogram.map((b) => ({
    name: b.upper === null ? `${shortMoney(Number(b.lower))}+` : `<${shortMoney(Number(b.upper))}`,
    value: b.count, text: b.count ? String(b.count) : "" })),
  { color: COLORS.positivity, fmt: (v) => Math.round(v) });

  gauge("chart-psi", model.psi.value, model.psi.reading);
  $("psi-note").textContent = `${model.psi.recent_count} recent vs ${model.psi.reference_count} ` +
    `reference scores · < 0.1 stable · 0.1–0.25 moderate · > 0.25 significant`;

  const versions = [...new Set(model.drift.map((w) => w.model_version))];
  const weeks = [...new Set(model.drift.map((w) => w.week_start))].sort();
  const palette = [COLORS.accent, COLORS.warn, COLORS.positivity, COLORS.stress];
  const series = [];
  versions.forEach((v, n) => {
    const at = (week, key) => {
      const row = model.drift.find((w) => w.week_start === week && w.model_version === v);
      return row ? row[key] : null;
    };
    series.push({ name: `${v} p50`, color: palette[n % 4], values: weeks.map((w) => at(w, "p50")) });
    series.push({ name: `${v} p90`, color: palette[n % 4], dash: "5 4", values: weeks.map((w) => at(w, "p90")) });
  });
  const top = Math.max(0.1, ...model.drift.map((w) => w.p90));
  lineChart("chart-drift", weeks.map((w) => w.slice(5, 10)), series,
    { yMax: Math.ceil(top * 10) / 10, ticks: Math.ceil(top * 10) * (top <= 0.5 ? 2 : 1),
      width: 500, height: 260, fmt: (v) => v.toFixed(2) });

  const fairness = model.fairness;
  const verdict = $("fairness-verdict");
  verdict.textContent = fairness.violation ? "⚠ rate difference detected" : "✓ rates equal within bands";
  verdict.className = fairness.violation ? "bad" : "ok";
  fillTable("fairness-groups", fairness.groups.map((g) => [
    g.group.replace("_", " "), g.decisions, pct(g.approval_rate), money(g.avg_limit)]));
  fillTable("fairness-rates", fairness.rate_by_band.map((b) => [
    b.band, rate(b.avg_rate_distress), rate(b.avg_rate_no_distress),
    b.violation ? ["✗ " + rate(b.difference), "bad"] : ["✓", "ok"]]));

  hBars("chart-reasons", credit.reason_codes.slice(0, 8).map((r) => ({
    name: r.code, value: r.count, text: `${r.count} (${pct(r.share)})` })));
}

function fillTable(id, rows) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    cells.forEach((cell) => {
      const td = document.createElement("td");
      const [text, cls] = Array.isArray(cell) ? cell : [cell, ""];
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    });
    return tr;
  }));
  if (!rows.length) {
    const tr = document.createElement("tr"), td = document.createElement("td");
    td.colSpan = 4; td.textContent = "No decisions in this window"; tr.appendChild(td); body.appendChild(tr);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  takeFragmentToken();
  $("login").addEventListener("submit", signIn);
  $("logout").addEventListener("click", () => signOut("Signed out."));
  $("refresh").addEventListener("click", load);
  $("days").addEventListener("change", load);
  load();
});
