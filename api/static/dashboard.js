// ECS insights dashboard: vanilla JS, same-origin requests only; charts come from charts.js.
// The bearer token lives in sessionStorage (this tab only). For screenshots and kiosks a token can
// be handed over in the URL fragment, /dashboard#token=<jwt>: fragments are never sent to the
// server, and the fragment is removed from the address bar as soon as it has been read.
// The filters live in the query string (/dashboard?days=90&model_version=…), so a filtered view
// can be bookmarked or shared without its token. Once rendered, <body data-rendered="N"> counts
// the renders (the browser test waits for it).
"use strict";

const KEY = "ecs.dashboard.token";
const REFRESH_MS = 30000;
const OUTCOMES = [
  { name: "APPROVED", color: COLORS.ok },
  { name: "REFERRED", color: COLORS.warn },
  { name: "DENIED", color: COLORS.bad },
];

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

// The filters as query strings: emotions take the window only, credit and model the versions too.
function query(days) {
  const params = new URLSearchParams({ days });
  const model = $("model-version").value, policy = $("policy-version").value;
  if (model) params.set("model_version", model);
  if (policy) params.set("policy_version", policy);
  return params.toString();
}

async function load() {
  if (!token()) { showSignedIn(false); return; }
  const days = Number($("days").value);
  try {
    const [emotions, credit, model] = await Promise.all([
      get(`/v1/insights/emotions?days=${days}`),
      get(`/v1/insights/credit?${query(days)}`),
      get(`/v1/insights/model?${query(Math.max(days, 14))}`),
    ]);
    showSignedIn(true);
    say("");
    render(emotions, credit, model);
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString("en-GB") +
      ($("auto-refresh").checked ? " · refreshing every 30 s" : "");
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  } catch (error) {
    if (error instanceof AuthError) signOut(error.message);
    else say("Could not load the insights: " + error.message);
  }
}

const FILTERS = { days: "days", model_version: "model-version", policy_version: "policy-version" };

function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const [name, id] of Object.entries(FILTERS)) {
    const value = params.get(name);
    if (value === null) continue;
    const select = $(id);
    if (![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
    select.value = value;
  }
}

function filtersToUrl() {
  const params = new URLSearchParams();
  for (const [name, id] of Object.entries(FILTERS)) if ($(id).value) params.set(name, $(id).value);
  history.replaceState(null, "", location.pathname + "?" + params.toString());
}

// Keep the chosen version selectable even when the window no longer contains it.
function offer(id, versions) {
  const select = $(id), chosen = select.value;
  const names = [...new Set([...versions, ...(chosen ? [chosen] : [])])].sort();
  select.replaceChildren(new Option("all", ""), ...names.map((v) => new Option(v, v)));
  select.value = chosen;
}

// --- formatting ------------------------------------------------------------------------------------

const pct = (x) => (x === null || x === undefined ? "–" : Math.round(x * 100) + "%");
const money = (x) => (x === null || x === undefined ? "–"
  : Number(x).toLocaleString("en-US", { maximumFractionDigits: 0 }));
const rate = (x) => (x === null || x === undefined ? "–" : (Number(x) * 100).toFixed(2) + "%");
const shortMoney = (x) => (x >= 1000 ? (x / 1000).toLocaleString("en-US") + "k" : String(x));

// --- rendering -------------------------------------------------------------------------------------

function render(emotions, credit, model) {
  offer("model-version", credit.model_versions);
  offer("policy-version", credit.policy_versions);
  $("k").textContent = emotions.k_anonymity;
  $("kpi-decisions").textContent = credit.decisions.toLocaleString("en-US");
  $("kpi-approval").textContent = pct(credit.approval_rate);
  $("kpi-distress").textContent = pct(emotions.takeaways.distress_user_share_7d);
  $("kpi-backlog").textContent = credit.referred_backlog;

  renderEmotions(emotions);
  renderOutcomes(credit);

  barChart("chart-bands", credit.bands.map((b) => ({ name: `${b.band} · ${rate(b.avg_interest_rate)}`,
    value: b.approval_rate, text: `${pct(b.approval_rate)} of ${b.decisions}` })),
  { yMax: 1, fmt: (v) => pct(v) });

  barChart("chart-limits", credit.limit_histogram.map((b) => ({
    name: b.upper === null ? `${shortMoney(Number(b.lower))}+` : `<${shortMoney(Number(b.upper))}`,
    value: b.count, text: b.count ? String(b.count) : "" })),
  { color: COLORS.positivity, integer: true, fmt: String });

  gauge("chart-psi", model.psi.value, model.psi.reading);
  $("psi-note").textContent = `${model.psi.recent_count} recent vs ${model.psi.reference_count} ` +
    `reference scores · < 0.1 stable · 0.1–0.25 moderate · > 0.25 significant`;

  renderDrift(model.drift);
  renderFairness(model.fairness);

  hBars("chart-reasons", credit.reason_codes.slice(0, 8).map((r) => ({
    name: r.code, value: r.count, text: `${r.count} (${pct(r.share)})` })));
}

function renderEmotions(emotions) {
  const days = emotions.days;
  lineChart("chart-emotions", days.map((d) => d.day.slice(5)), [
    { name: "stress", color: COLORS.stress, values: days.map((d) => d.avg_stress) },
    { name: "positivity", color: COLORS.positivity, values: days.map((d) => d.avg_positivity) },
    { name: "intensity", color: COLORS.intensity, values: days.map((d) => d.avg_intensity), dash: "5 4" },
  ], { fmt: (v) => v.toFixed(2) });
  $("emotion-note").textContent = `${days.length} days shown` +
    (emotions.suppressed_days ? `, ${emotions.suppressed_days} hidden (< ${emotions.k_anonymity} users)` : "");
  $("takeaways").replaceChildren(...emotions.takeaways.summary.map((s) => {
    const li = document.createElement("li"); li.textContent = s; return li;
  }));
}

// Every UTC day of the window, so quiet days show as gaps rather than disappearing.
function windowDays(sinceIso) {
  const days = [], day = new Date(sinceIso.slice(0, 10) + "T00:00:00Z"), end = new Date();
  for (; day <= end; day.setUTCDate(day.getUTCDate() + 1)) days.push(day.toISOString().slice(0, 10));
  return days;
}

function renderOutcomes(credit) {
  const counts = new Map(credit.by_day.map((d) => [d.day, d.by_outcome]));
  const days = windowDays(credit.since);
  stackedBars("chart-outcomes", days.map((d) => d.slice(5)), OUTCOMES.map((o) => ({
    ...o, values: days.map((d) => (counts.get(d) || {})[o.name] || 0) })));
  const parts = OUTCOMES.map((o) => `${credit.by_outcome[o.name] || 0} ${o.name.toLowerCase()}`);
  $("outcomes-note").textContent = parts.join(" · ");
}

function renderDrift(drift) {
  const versions = [...new Set(drift.map((w) => w.model_version))];
  const weeks = [...new Set(drift.map((w) => w.week_start))].sort();
  const palette = [COLORS.accent, COLORS.warn, COLORS.positivity, COLORS.stress];
  const series = [];
  versions.forEach((v, n) => {
    const at = (week, key) => {
      const row = drift.find((w) => w.week_start === week && w.model_version === v);
      return row ? row[key] : null;
    };
    series.push({ name: `${v} p50`, color: palette[n % 4], values: weeks.map((w) => at(w, "p50")) });
    series.push({ name: `${v} p90`, color: palette[n % 4], dash: "5 4", values: weeks.map((w) => at(w, "p90")) });
  });
  const top = Math.max(0.1, ...drift.map((w) => w.p90));
  lineChart("chart-drift", weeks.map((w) => w.slice(5, 10)), series,
    { yMax: top, steps: 5, width: 500, height: 260, fmt: (v) => v.toFixed(2) });
}

// A band can only be checked when both groups have approved decisions in it; with no such band
// the monitor has nothing to compare and says so instead of showing a reassuring tick.
function renderFairness(fairness) {
  const comparable = (b) => b.avg_rate_distress !== null && b.avg_rate_no_distress !== null;
  const checked = fairness.rate_by_band.filter(comparable);
  const verdict = $("fairness-verdict");
  if (fairness.violation) {
    verdict.textContent = "⚠ rate difference detected"; verdict.className = "bad";
  } else if (!checked.length) {
    const distress = fairness.groups.find((g) => g.group === "distress");
    verdict.textContent = "not enough data" + (distress && !distress.decisions
      ? ": no decisions for users in distress" : ": no band has approved decisions in both groups");
    verdict.className = "muted";
  } else {
    verdict.textContent = `✓ rates equal within ${checked.length} of ` +
      `${fairness.rate_by_band.length} bands`;
    verdict.className = "ok";
  }
  fillTable("fairness-groups", fairness.groups.map((g) => [
    g.group.replace("_", " "), g.decisions, pct(g.approval_rate), money(g.avg_limit)]));
  fillTable("fairness-rates", fairness.rate_by_band.map((b) => [
    b.band, rate(b.avg_rate_distress), rate(b.avg_rate_no_distress),
    b.violation ? ["✗ " + rate(b.difference), "bad"]
      : comparable(b) ? ["✓", "ok"] : ["not enough data", "muted"]]));
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
  filtersFromUrl();
  for (const id of [...Object.values(FILTERS), "auto-refresh"]) {
    $(id).addEventListener("change", () => { filtersToUrl(); load(); });
  }
  setInterval(() => {
    if ($("auto-refresh").checked && token() && document.visibilityState === "visible") load();
  }, REFRESH_MS);
  load();
});
