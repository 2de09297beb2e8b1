// ECS review workbench: vanilla JS, same-origin requests only (`$`, `el`, `label`, `canvas`,
// `empty` and COLORS come from charts.js). An analyst works the review queue (GET /v1/reviews),
// opens one case (GET /v1/reviews/{id}) and approves with terms, denies, or — for a proposal above
// the four-eyes limit made by someone else — confirms or rejects. Every action needs a comment;
// the server refuses it too, so the checks here only spare a round trip. A 4xx shows the problem's
// `detail` sentence as the server wrote it.
// Sign-in works like the dashboard's: the token lives in sessionStorage (this tab only), and
// /workbench#token=<jwt> hands one over without it ever reaching the server. The open case lives
// in the query string (/workbench?case=<id>), so a case can be linked without its token. The
// queue and the open case reload every 30 s while the tab is visible (other analysts work the same
// queue); what the analyst typed is kept. Each completed render increments
// <body data-rendered="N"> (the browser test waits for it).
"use strict";

const KEY = "ecs.workbench.token";
const PAGE = 100;
const MIN_COMMENT = 3;
const OPEN = new Set(["REFERRED", "CONTESTED"]);
const SETTLE_TRIES = 20, SETTLE_MS = 250;
const REFRESH_MS = 30000;

const state = { pages: 1, queue: [], nextOffset: null, caseId: null, case: null, prefilled: null };

// --- session -------------------------------------------------------------------------------------

function takeFragmentToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function token() { return sessionStorage.getItem(KEY); }

// The signed-in analyst's id (the token's subject), to tell "you" apart in the history.
function myId() {
  try {
    const payload = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).sub || null;
  } catch { return null; }
}

function showSignedIn(on) {
  $("login").hidden = on;
  $("signed-in").hidden = !on;
  $("content").hidden = !on;
}

function say(text) { $("message").textContent = text || ""; }

function tell(text, ok) {
  const node = $("action-message");
  node.textContent = text || "";
  node.className = ok ? "ok" : "bad";
}

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

class AuthError extends Error {}

// The problem's own sentence; for a validation error, the first field's complaint too.
async function problem(response) {
  try {
    const body = await response.json();
    const first = (body.errors || [])[0];
    return first ? `${body.detail} (${first.loc.slice(1).join(".")}: ${first.msg})` : body.detail;
  } catch { return null; }
}

// One API call with the analyst's token. Answers {ok, status, body, detail}; 401 and 403 end the
// session here, since no page of this workbench works without the analyst role.
async function call(path, json) {
  const headers = { Authorization: "Bearer " + token() };
  const options = json === undefined ? { headers }
    : { method: "POST", headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify(json) };
  const response = await fetch(path, options);
  if (response.status === 401) throw new AuthError("Your session has expired; sign in again.");
  if (response.status === 403) throw new AuthError("The workbench needs the analyst role.");
  if (!response.ok) {
    return { ok: false, status: response.status, detail: (await problem(response)) || "HTTP " + response.status };
  }
  return { ok: true, status: response.status, body: await response.json() };
}

async function get(path) {
  const answer = await call(path);
  if (!answer.ok) throw new Error(answer.detail);
  return answer.body;
}

// --- loading -------------------------------------------------------------------------------------

async function fetchQueue() {
  const items = [];
  let offset = 0, next = null;
  for (let page = 0; page < state.pages && offset !== null; page++) {
    const body = await get(`/v1/reviews?limit=${PAGE}&offset=${offset}`);
    items.push(...body.items);
    next = body.next_offset;
    offset = next;
  }
  return { items, next };
}

// The case, or null when there is no such decision (a stale or mistyped ?case= link).
async function fetchCase(id) {
  if (!id) return null;
  const answer = await call(`/v1/reviews/${encodeURIComponent(id)}`);
  if (answer.ok) return answer.body;
  if (answer.status === 404 || answer.status === 422) return null;
  throw new Error(answer.detail);
}

async function load() {
  if (!token()) { showSignedIn(false); return; }
  const asked = state.caseId;
  try {
    const [queue, found] = await Promise.all([fetchQueue(), fetchCase(asked)]);
    showSignedIn(true);
    say(asked && !found ? "That case does not exist." : "");
    state.queue = queue.items;
    state.nextOffset = queue.next;
    state.case = found;
    if (!found) state.caseId = null;
    render();
  } catch (error) {
    if (error instanceof AuthError) signOut(error.message);
    else say("Could not load the review queue: " + error.message);
  }
}

async function openCase(id) {
  state.caseId = id;
  tell("");
  const params = new URLSearchParams(location.search);
  params.set("case", id);
  history.replaceState(null, "", location.pathname + "?" + params.toString());
  await load();
}

// An action's 202 names the status it reached; the stored case can lag behind it for a moment,
// so re-read it until it shows that status (or give up and show what is stored).
async function settle(id, status) {
  for (let attempt = 0; attempt < SETTLE_TRIES; attempt++) {
    const found = await fetchCase(id);
    if (!found || found.status === status) break;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  }
  await load();
}

// --- formatting ----------------------------------------------------------------------------------

const dash = "–";
const missing = (x) => x === null || x === undefined;
const when = (iso) => (missing(iso) ? dash : new Date(iso).toLocaleString("en-GB",
  { day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" }));
const day = (iso) => (missing(iso) ? dash : new Date(iso).toLocaleString("en-GB",
  { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" }));
const money = (x) => (missing(x) ? dash
  : Number(x).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const rate = (x) => (missing(x) ? dash : (Number(x) * 100).toFixed(2) + "%");
const number = (x) => (missing(x) ? dash : typeof x !== "number" ? String(x)
  : x.toLocaleString("en-US", { maximumFractionDigits: Math.abs(x) >= 100 ? 2 : 4 }));
const words = (s) => (missing(s) ? dash : String(s).replace(/_/g, " ").toLowerCase());
const short = (id) => (missing(id) ? dash : String(id).slice(0, 8));

function overdue(item) {
  return !missing(item.escalated_at) ||
    (!missing(item.review_due_at) && Date.parse(item.review_due_at) < Date.now());
}

function terms(t) {
  if (missing(t) || missing(t.credit_limit) || Number(t.credit_limit) === 0) return dash;
  return `${money(t.credit_limit)} at ${rate(t.interest_rate)}` +
    (t.credit_type ? ` · ${words(t.credit_type)}` : "");
}

function who(record) {
  if (!missing(record.reviewer_id)) {
    return record.reviewer_id === myId() ? "you" : "analyst " + short(record.reviewer_id);
  }
  return record.kind === "CONTEST" ? "customer" : "system";
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function rows(id, list, empty) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(...list);
  if (!list.length) {
    const tr = document.createElement("tr");
    const td = cell(empty, "muted");
    td.colSpan = $(id).querySelectorAll("thead th").length || 2;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function keyValues(id, pairs, empty) {
  rows(id, pairs.map(([key, value, cls]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = key;
    tr.append(th, cell(value, cls));
    return tr;
  }), empty);
}

// --- rendering -----------------------------------------------------------------------------------

function render() {
  renderQueue();
  renderCase();
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

function renderQueue() {
  rows("queue", state.queue.map((item) => {
    const tr = document.createElement("tr");
    tr.dataset.id = item.id;
    tr.tabIndex = 0;
    if (item.id === state.caseId) tr.className = "selected";
    const late = overdue(item);
    const due = cell(day(item.review_due_at), late ? "when overdue" : "when");
    if (late) {
      const flag = document.createElement("span");
      flag.className = "badge overdue";
      flag.textContent = "overdue";
      due.append(" ", flag);
    }
    tr.append(cell(item.status, "status s-" + item.status), cell(words(item.queue_reason)),
      cell(item.risk_band || dash), cell(day(item.requested_at), "when"), due);
    tr.addEventListener("click", () => openCase(item.id));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") openCase(item.id); });
    return tr;
  }), "Nothing is waiting for review.");
  const late = state.queue.filter(overdue).length;
  $("queue-note").textContent = `${state.queue.length}${state.nextOffset !== null ? "+" : ""} ` +
    `waiting · ${late} overdue`;
  $("more").hidden = state.nextOffset === null;
}

function renderCase() {
  const c = state.case;
  $("no-case").hidden = !!c;
  $("case").hidden = !c;
  if (!c) return;
  $("case-id").textContent = short(c.decision_id);
  $("case-id").title = c.decision_id;
  $("case-status").textContent = c.status;
  $("case-status").className = "badge s-" + c.status;
  $("case-overdue").hidden = !overdue(c);
  $("case-reason").textContent = words(c.queue_reason);
  $("case-requested").textContent = when(c.requested_at);
  $("case-due").textContent = when(c.review_due_at) +
    (missing(c.escalated_at) ? "" : ` · escalated ${when(c.escalated_at)}`);
  $("case-risk").textContent = missing(c.risk_band) ? "not scored"
    : `band ${c.risk_band} · score ${number(c.risk_score)}`;
  $("case-versions").textContent = `${c.model_version || dash} · ${c.policy_version || dash}`;
  $("case-user").textContent = short(c.user_id);
  $("case-user").title = c.user_id || "";

  $("contest").hidden = missing(c.contest_reason);
  $("contest-reason").textContent = c.contest_reason || "";

  $("reason-codes").replaceChildren(...(c.reason_codes || []).map((code) => {
    const li = document.createElement("li"); li.textContent = code; return li;
  }));
  contributionBars("contributions", c.contributions || []);
  renderFeatures(c);
  renderEmotions(c.emotions);
  keyValues("offer", missing(c.offer) ? [] : [
    ["credit limit", money(c.offer.credit_limit)],
    ["interest rate", rate(c.offer.interest_rate)],
    ["credit type", words(c.offer.credit_type)],
    ["expires", when(c.offer.expires_at)],
    ["status", c.offer.status || dash],
  ], "No offer");
  renderRecords(c.records || []);
  renderActions(c);
}

// Every feature of the snapshot, beside its contribution to the score when the model gave one.
function renderFeatures(c) {
  const contributions = new Map((c.contributions || []).map((x) => [x.feature, x.log_odds]));
  rows("features", Object.entries(c.features || {}).map(([name, value]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = name;
    const lo = contributions.get(name);
    tr.append(th, cell(number(value)),
      cell(missing(lo) ? "" : (lo > 0 ? "+" : "") + lo.toFixed(2), missing(lo) ? "" : lo > 0 ? "bad" : "ok"));
    return tr;
  }), "No feature snapshot (the model was not reached)");
}

const EMOTION_LABELS = {
  days: "window, days", readings: "readings", distress_readings: "distress readings",
  mean_stress: "mean stress", mean_intensity: "mean intensity", mean_positivity: "mean positivity",
};

function renderEmotions(emotions) {
  const pairs = missing(emotions) ? [] : Object.entries(emotions).map(([key, value]) =>
    [EMOTION_LABELS[key] || words(key), number(value)]);
  keyValues("emotions", pairs, "No emotional context (no consent, or no readings)");
}

function renderRecords(records) {
  rows("records", records.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.kind = r.kind;
    tr.append(cell(String(r.sequence ?? dash)), cell(words(r.kind)), cell(who(r)),
      cell(r.outcome || dash, "status s-" + r.outcome), cell(terms(r)), cell(r.comment || ""),
      cell(when(r.created_at), "when"));
    return tr;
  }), "No records");
}

function renderActions(c) {
  const fresh = state.prefilled !== c.decision_id;
  $("review").hidden = !OPEN.has(c.status);
  $("confirming").hidden = c.status !== "CONFIRMING" || missing(c.proposal);
  if (fresh) {
    state.prefilled = c.decision_id;
    const from = c.offer || {};
    $("limit").value = missing(from.credit_limit) ? "" : Number(from.credit_limit).toFixed(2);
    $("rate").value = missing(from.interest_rate) ? "" : (Number(from.interest_rate) * 100).toFixed(2);
    $("credit-type").value = from.credit_type || "SHORT_TERM";
    $("review-comment").value = "";
    $("confirm-comment").value = "";
  }
  $("deny-note").hidden = !(c.queue_reason === "CONTESTED" && c.offer);
  if (!missing(c.proposal)) {
    const p = c.proposal;
    keyValues("proposal", [
      ["proposed by", p.reviewer_id === myId() ? "you — a second analyst must confirm"
        : "analyst " + short(p.reviewer_id)],
      ["terms", terms(p)],
      ["comment", p.comment || dash],
      ["proposed", when(p.created_at)],
    ], "");
  }
  checkInputs();
}

// Diverging bars around zero: right and red raises the risk, left and green lowers it. Each
// side keeps room for its value beyond the longest bar, so no text overlaps a feature's name.
function contributionBars(id, items) {
  const row = 22, W = 760, L = 210, TEXT = 48, H = Math.max(items.length * row + 8, 48);
  const svg = canvas(id, W, H);
  if (!items.length) { empty(svg, W, H, "No contributions (the model was not reached)"); return; }
  const max = Math.max(...items.map((i) => Math.abs(i.log_odds)), 1e-9);
  const half = (W - L - 2 * TEXT) / 2, mid = L + TEXT + half;
  el("line", { x1: mid, x2: mid, y1: 0, y2: H, stroke: COLORS.grid }, svg);
  items.forEach((item, i) => {
    const y = 4 + i * row, w = (half * Math.abs(item.log_odds)) / max, up = item.log_odds > 0;
    label(svg, L - 8, y + 14, item.feature, { "text-anchor": "end", class: "label" });
    el("rect", { x: up ? mid : mid - w, y: y + 3, width: Math.max(w, 1), height: row - 8, rx: 2,
      fill: up ? COLORS.bad : COLORS.ok, class: "bar " + (up ? "riskier" : "safer") }, svg);
    const text = (up ? "+" : "") + item.log_odds.toFixed(2);
    label(svg, up ? mid + w + 4 : mid - w - 4, y + 14, text,
      { "text-anchor": up ? "start" : "end" });
  });
}

// --- actions -------------------------------------------------------------------------------------

const commented = (id) => $(id).value.trim().length >= MIN_COMMENT;

function reviewTerms() {
  const limit = Number($("limit").value), pct = Number($("rate").value);
  if (!$("limit").value || !$("rate").value || !(limit > 0) || !(pct > 0 && pct < 100)) return null;
  return { credit_limit: limit.toFixed(2), interest_rate: (pct / 100).toFixed(4),
    credit_type: $("credit-type").value };
}

function checkInputs() {
  const c = state.case;
  if (!c) return;
  const offerContested = c.queue_reason === "CONTESTED" && !missing(c.offer);
  $("approve").disabled = !commented("review-comment") || !reviewTerms();
  $("deny").disabled = !commented("review-comment") || offerContested;
  $("confirm").disabled = $("reject").disabled = !commented("confirm-comment");
  const limit = c.four_eyes_limit;
  const asked = reviewTerms();
  const above = asked && !missing(limit) && Number(asked.credit_limit) > Number(limit);
  $("four-eyes").textContent = missing(limit) ? "" : `Four-eyes limit ${money(limit)}: an approval ` +
    "above it needs a second analyst to confirm before the offer goes out." +
    (above ? " This one will wait for that confirmation." : "");
  $("four-eyes").className = "note" + (above ? " warn" : "");
}

async function act(path, json, busy) {
  const id = state.caseId;
  for (const b of busy) $(b).disabled = true;
  try {
    const answer = await call(path, json);
    if (!answer.ok) { tell(answer.detail, false); checkInputs(); return; }
    state.prefilled = null;
    tell(`Done: the decision is now ${answer.body.status}.`, true);
    await settle(id, answer.body.status);
  } catch (error) {
    if (error instanceof AuthError) signOut(error.message);
    else { tell("The request failed: " + error.message, false); checkInputs(); }
  }
}

function review(approve) {
  const body = { approve, comment: $("review-comment").value.trim() };
  if (approve) Object.assign(body, reviewTerms());
  return act(`/v1/reviews/${encodeURIComponent(state.caseId)}`, body, ["approve", "deny"]);
}

function confirmProposal(confirm) {
  return act(`/v1/reviews/${encodeURIComponent(state.caseId)}/confirm`,
    { confirm, comment: $("confirm-comment").value.trim() }, ["confirm", "reject"]);
}

document.addEventListener("DOMContentLoaded", () => {
  takeFragmentToken();
  state.caseId = new URLSearchParams(location.search).get("case");
  $("login").addEventListener("submit", signIn);
  $("logout").addEventListener("click", () => signOut("Signed out."));
  $("refresh").addEventListener("click", () => { tell(""); load(); });
  $("more").addEventListener("click", () => { state.pages += 1; load(); });
  for (const id of ["limit", "rate", "credit-type", "review-comment", "confirm-comment"]) {
    $(id).addEventListener("input", checkInputs);
  }
  for (const form of ["review", "confirming"]) {
    $(form).addEventListener("submit", (event) => event.preventDefault());
  }
  $("approve").addEventListener("click", () => review(true));
  $("deny").addEventListener("click", () => review(false));
  $("confirm").addEventListener("click", () => confirmProposal(true));
  $("reject").addEventListener("click", () => confirmProposal(false));
  // Other analysts work the same queue: keep it (and the open case) current while in view.
  setInterval(() => { if (token() && document.visibilityState === "visible") load(); }, REFRESH_MS);
  load();
});
