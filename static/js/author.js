// The lesson authoring page: a lesson is drawn as a graph (author-graph.js) and each
// state is edited in the side panel in plain words. Every change is autosaved as the
// lesson's draft (debounced), with the box positions kept beside the lesson document
// in the draft only (`layout`); publishing and "try it" save the document as a version.

import { api, header, notify, settings, uuid } from "/static/js/api.js";
import { BOX_H, BOX_W, Graph, ISSUE_SHORT, edgeLabel } from "/static/js/author-graph.js";

header("author");
const $ = (id) => document.getElementById(id);
const SAVE_DELAY_MS = 800;
const LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"];
const COL_W = 290; // grid of new boxes: room for an arrow and its label between columns
const ROW_H = 130;
const LEFT = 54; // room for the start arrow

const app = {
  doc: null, // the lesson document being edited
  layout: {}, // state id -> {x, y}: editor-only, saved in the draft beside the document
  sel: null, // {kind: "state", id} | {kind: "expect", state, id} | {kind: "fallback", state}
  issues: [],
  rev: 0, // bumped by every change
  savedRev: 0,
  timer: null,
  inflight: null,
  undo: [],
  lessons: [],
};

const graph = new Graph($("graph"), {
  select: (sel) => select(sel),
  move: (id, x, y) => { app.layout[id] = { x, y }; drawGraph(); },
  moveEnd: () => changed(),
  connect: (from, to) => {
    snapshot();
    const exp = addExpectation(from, to);
    select({ kind: "expect", state: from, id: exp.id });
    changed();
    announce(`Connected “${stateById(from).name}” to “${stateById(to).name}”: now write what the learner might say.`);
  },
  addAt: (x, y) => addState(x, y),
  remove: (sel) => removeItem(sel),
  edit: (id) => { select({ kind: "state", id }); $("side").querySelector("input")?.focus(); },
});

// ------------------------------------------------------------------ the document

function blankLesson(id) {
  return { id, title: "", mission: "", description: "", level: "A2", initial: "", states: [] };
}

function blankState(name) {
  return { id: uuid(), name, lines: [], expects: [], hint: "", rephrase: [], fallback: null,
    fallback_line: "", max_attempts: 3, kind: "normal" };
}

// Fill what a stored document may lack, keeping whatever else it has (e.g. pronunciation checks).
function normalise(doc, id) {
  const d = { ...blankLesson(id), ...doc, id };
  d.states = (d.states || []).map((s) => {
    const st = { ...blankState(s.name || "state"), ...s };
    st.expects = (st.expects || []).map((e) => ({ id: uuid(), target: "", intent: "", examples: [],
      keywords: [], patterns: [], entities: [], reply: "", ...e }));
    return st;
  });
  return d;
}

const stateById = (id) => app.doc.states.find((s) => s.id === id);

function uniqueName(base) {
  const names = new Set(app.doc.states.map((s) => s.name));
  for (let n = app.doc.states.length + 1; ; n++) {
    if (!names.has(`${base} ${n}`)) return `${base} ${n}`;
  }
}

const isFree = (x, y) => !Object.values(app.layout).some(
  (p) => Math.abs(p.x - x) < BOX_W + 20 && Math.abs(p.y - y) < BOX_H + 40);

function gridColumns() {
  const width = $("graph").parentElement.clientWidth;
  return Math.max(2, Math.floor((width - LEFT - BOX_W - 10) / COL_W) + 1);
}

function freeSpot() {
  const cols = gridColumns();
  for (let row = 0; row < 40; row++) {
    for (let col = 0; col < cols; col++) {
      const x = LEFT + col * COL_W, y = 40 + row * ROW_H;
      if (isFree(x, y)) return { x, y };
    }
  }
  return { x: LEFT, y: 40 };
}

// Right of a box if there is room there, else the first free place.
function spotNear(p) {
  return p && isFree(p.x + COL_W, p.y) ? { x: p.x + COL_W, y: p.y } : freeSpot();
}

// A lesson opened without stored positions (a version, not a draft): boxes in the order
// a learner meets them, row by row, every other row right to left, so that each step's
// arrow to the next stays short.
function autoLayout() {
  const missing = app.doc.states.filter((s) => !app.layout[s.id]);
  if (!missing.length) return;
  if (missing.length < app.doc.states.length) {
    for (const s of missing) app.layout[s.id] = freeSpot();
    return;
  }
  const order = [];
  const seen = new Set();
  const queue = stateById(app.doc.initial) ? [app.doc.initial] : [];
  for (const id of queue) seen.add(id);
  while (queue.length) {
    const s = stateById(queue.shift());
    order.push(s);
    for (const t of [...s.expects.map((e) => e.target), s.fallback]) {
      if (t && stateById(t) && !seen.has(t)) { seen.add(t); queue.push(t); }
    }
  }
  order.push(...app.doc.states.filter((s) => !seen.has(s.id)));
  const cols = gridColumns();
  order.forEach((s, i) => {
    const row = Math.floor(i / cols), col = row % 2 ? cols - 1 - (i % cols) : i % cols;
    app.layout[s.id] = { x: LEFT + col * COL_W, y: 40 + row * (ROW_H + 20) };
  });
}

function snapshot() {
  app.undo.push(JSON.stringify({ doc: app.doc, layout: app.layout, sel: app.sel }));
  if (app.undo.length > 50) app.undo.shift();
  $("undo").disabled = false;
}

function undo() {
  const last = app.undo.pop();
  $("undo").disabled = !app.undo.length;
  if (!last) return;
  ({ doc: app.doc, layout: app.layout, sel: app.sel } = JSON.parse(last));
  fillLessonFields();
  changed({ panel: true });
  announce("Undone.");
}

function addState(x, y) {
  snapshot();
  const s = blankState(uniqueName("state"));
  app.doc.states.push(s);
  const spot = x === undefined ? freeSpot() : { x: Math.max(0, Math.round(x)), y: Math.max(0, Math.round(y)) };
  app.layout[s.id] = spot;
  if (!stateById(app.doc.initial)) app.doc.initial = s.id;
  select({ kind: "state", id: s.id });
  changed();
  announce(`Added state “${s.name}”.`);
  return s;
}

function addExpectation(from, to) {
  const exp = { id: uuid(), target: to, intent: "", examples: [], keywords: [], patterns: [],
    entities: [], reply: "" };
  stateById(from).expects.push(exp);
  return exp;
}

function removeItem(sel) {
  if (!sel) return;
  snapshot();
  if (sel.kind === "state") {
    const gone = stateById(sel.id);
    if (!gone) return;
    app.doc.states = app.doc.states.filter((s) => s.id !== sel.id);
    delete app.layout[sel.id];
    for (const s of app.doc.states) {
      s.expects = s.expects.filter((e) => e.target !== sel.id);
      if (s.fallback === sel.id) s.fallback = null;
    }
    if (app.doc.initial === sel.id) app.doc.initial = app.doc.states[0]?.id || "";
    announce(`Deleted state “${gone.name}” and the arrows into it. Undo brings it back.`);
  } else if (sel.kind === "expect") {
    const s = stateById(sel.state);
    if (s) s.expects = s.expects.filter((e) => e.id !== sel.id);
    announce("Deleted the arrow. Undo brings it back.");
  } else if (sel.kind === "fallback") {
    const s = stateById(sel.state);
    if (s) s.fallback = null;
    announce("Deleted the fallback arrow. Undo brings it back.");
  }
  app.sel = null;
  changed({ panel: true });
  $("graph").focus();
}

function lessonOnly(doc = app.doc) {
  return JSON.parse(JSON.stringify(doc));
}

function draftBody() {
  return { document: { ...lessonOnly(), layout: app.layout } };
}

// ------------------------------------------------------------------ saving

function saveStatus(text, kind = "") {
  const el = $("save-status");
  el.textContent = text;
  el.dataset.state = kind;
}

/** Something changed: redraw, and autosave after SAVE_DELAY_MS without further changes. */
function changed({ panel = false } = {}) {
  app.rev++;
  drawGraph();
  if (panel) renderSide();
  saveStatus("Unsaved changes", "dirty");
  clearTimeout(app.timer);
  app.timer = setTimeout(save, SAVE_DELAY_MS);
}

async function save() {
  clearTimeout(app.timer);
  app.timer = null;
  while (app.inflight) await app.inflight.catch(() => {});
  if (!app.doc || app.rev === app.savedRev) return;
  const rev = app.rev;
  const id = app.doc.id;
  const body = draftBody();
  saveStatus("Saving…", "saving");
  const run = (async () => {
    const resp = await api(`/v1/lessons/${id}/draft`, { method: "PUT", body });
    const issues = resp.issues;
    if (app.doc?.id !== id) return;
    app.savedRev = Math.max(app.savedRev, rev);
    showIssues(issues);
    if (app.rev === app.savedRev) saveStatus(`Saved ${new Date().toLocaleTimeString()}`, "saved");
    renameOption(id);
  })();
  app.inflight = run;
  try {
    await run;
  } catch (err) {
    if (app.doc?.id === id) {
      // A refusal (not yours, bad id) will not change by itself; the network or a busy server may.
      const retry = !(err.status >= 400 && err.status < 500 && ![408, 429].includes(err.status));
      saveStatus(`Not saved: ${err.message}.${retry ? " Retrying…" : ""}`, "error");
      clearTimeout(app.timer);
      if (retry) app.timer = setTimeout(save, 5000);
    }
    return;
  } finally {
    if (app.inflight === run) app.inflight = null;
  }
  if (app.rev !== app.savedRev && !app.timer) app.timer = setTimeout(save, SAVE_DELAY_MS);
}

/** Wait for every change so far to be saved. */
async function flush() {
  if (!app.doc) return;
  for (let i = 0; i < 3 && app.rev !== app.savedRev; i++) await save();
  if (app.rev !== app.savedRev) throw new Error("the draft could not be saved");
}

// Leaving with unsaved changes: one last save that outlives the page.
addEventListener("pagehide", () => {
  if (!app.doc || app.rev === app.savedRev) return;
  fetch(`/v1/lessons/${app.doc.id}/draft`, {
    method: "PUT", keepalive: true, body: JSON.stringify(draftBody()),
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${settings.apiKey}` },
  }).catch(() => {});
});

// ------------------------------------------------------------------ issues

// The graph's own problems first: they are what the box's red outline is about.
const PRIORITY = ["unreachable", "dead_end", "unknown_target", "duplicate_state_name", "no_lines"];
const rank = (code) => (PRIORITY.includes(code) ? PRIORITY.indexOf(code) : PRIORITY.length);

function issuesByStateId() {
  const out = new Map();
  for (const issue of app.issues) {
    if (!issue.state) continue;
    for (const s of app.doc.states.filter((x) => x.name === issue.state)) {
      if (!out.has(s.id)) out.set(s.id, []);
      out.get(s.id).push(issue);
    }
  }
  for (const list of out.values()) list.sort((a, b) => rank(a.code) - rank(b.code));
  return out;
}

function showIssues(issues) {
  app.issues = issues;
  drawGraph();
  const list = $("issues");
  list.replaceChildren();
  $("issues-title").textContent = issues.length ? `Problems to fix before publishing (${issues.length})`
    : "Problems";
  if (!issues.length) {
    const li = document.createElement("li");
    li.className = "ok";
    li.textContent = "No problems: the lesson can be published.";
    list.append(li);
    return;
  }
  for (const issue of issues) {
    const li = document.createElement("li");
    li.dataset.code = issue.code;
    const state = issue.state && app.doc.states.find((s) => s.name === issue.state);
    const what = ISSUE_SHORT[issue.code] ? `${ISSUE_SHORT[issue.code]}: ` : "";
    if (state) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = issue.state;
      b.addEventListener("click", () => select({ kind: "state", id: state.id }));
      li.append(b, ` — ${what}${issue.message}`);
    } else {
      li.textContent = issue.code === "no_goal" ? "No goal yet: make a state a “goal” (the lesson succeeds there)."
        : `${issue.state ? issue.state + " — " : ""}${what}${issue.message}`;
    }
    list.append(li);
  }
}

// ------------------------------------------------------------------ drawing

function drawGraph() {
  if (!app.doc) return;
  graph.render(app.doc, app.layout, app.sel, issuesByStateId());
  $("empty-hint").hidden = app.doc.states.length > 0;
  $("delete-selected").disabled = !app.sel;
}

function select(sel) {
  const same = JSON.stringify(sel) === JSON.stringify(app.sel);
  app.sel = sel;
  drawGraph();
  if (!same) renderSide();
}

let fieldSeq = 0;

function field(parent, labelText, control, help) {
  const id = `f${++fieldSeq}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = labelText;
  control.id = id;
  parent.append(label);
  if (help) {
    const p = document.createElement("span");
    p.className = "help muted";
    p.id = `${id}-help`;
    p.textContent = help;
    control.setAttribute("aria-describedby", p.id);
    label.append(" ", p);
  }
  parent.append(control);
  return control;
}

function make(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node[k] = v;
  if (text !== undefined) node.textContent = text;
  return node;
}

const lines = (text) => text.split("\n").map((x) => x.trim()).filter(Boolean);
const commaList = (text) => text.split(",").map((x) => x.trim()).filter(Boolean);

function textInput(value, onInput, attrs = {}) {
  const input = make("input", { value: value ?? "", autocomplete: "off", ...attrs });
  input.addEventListener("input", () => { onInput(input.value); changed(); });
  return input;
}

function textArea(values, onInput, rows = 3) {
  const area = make("textarea", { value: values.join("\n"), rows });
  area.addEventListener("input", () => { onInput(lines(area.value)); changed(); });
  return area;
}

function stateOptions(select, value, { none } = {}) {
  select.replaceChildren();
  if (none) select.append(new Option(none, ""));
  for (const s of app.doc.states) select.append(new Option(s.name || "(no name)", s.id));
  select.value = value ?? "";
}

// After a rename, the state pickers show the new name without losing their choice.
function refreshStateOptions() {
  for (const sel of $("side").querySelectorAll("select.state-pick")) {
    const value = sel.value;
    stateOptions(sel, value, { none: sel.dataset.none });
  }
}

const focusables = (root) => [...root.querySelectorAll("input, select, textarea, button")];

function renderSide() {
  const side = $("side");
  // A rebuilt panel puts keyboard focus back where it was (by position).
  const at = focusables(side).indexOf(document.activeElement);
  side.replaceChildren();
  buildSide(side);
  if (at >= 0) {
    const all = focusables(side);
    const target = all.slice(at).find((x) => !x.disabled) || all.reverse().find((x) => !x.disabled);
    target?.focus({ preventScroll: true });
  }
}

function buildSide(side) {
  const sel = app.sel;
  const state = sel && stateById(sel.kind === "state" ? sel.id : sel.state);
  if (!state) {
    $("side-title").textContent = "Selected state";
    side.append(make("p", { className: "muted" }, app.doc?.states.length
      ? "Select a state (a box) on the graph to edit what the bot says and what the learner might answer."
      : "Start by adding a state: press “Add state” or double-click the graph."));
    return;
  }
  $("side-title").textContent = `State: ${state.name}`;

  field(side, "Name", textInput(state.name, (v) => {
    state.name = v;
    $("side-title").textContent = `State: ${v}`;
    refreshStateOptions();
  }, { maxLength: 100, className: "full" }), "(unique; shown on the box)");

  const kind = make("select");
  for (const [v, t] of [["normal", "Normal step"], ["goal", "Goal — the lesson succeeds here"],
    ["failure", "Failure — the lesson ends here"]]) kind.append(new Option(t, v));
  kind.value = state.kind;
  kind.addEventListener("change", () => { snapshot(); state.kind = kind.value; changed({ panel: true }); });
  field(side, "Kind of state", kind);

  const startRow = make("div", { className: "row start-row" });
  if (app.doc.initial === state.id) {
    startRow.append(make("p", { className: "start-note" }, "▶ The lesson starts here."));
  } else {
    const start = make("button", { type: "button", className: "secondary start-here" }, "Start the lesson here");
    start.addEventListener("click", () => { snapshot(); app.doc.initial = state.id; changed({ panel: true }); });
    startRow.append(start);
  }
  side.append(startRow);

  field(side, "What the bot says", textArea(state.lines, (v) => { state.lines = v; }),
    "(one per line; the bot picks one of them)");

  const terminal = state.kind !== "normal";
  if (terminal) {
    side.append(make("p", { className: "notice" }, state.kind === "goal"
      ? "When the learner gets here the lesson is over, and it counts as a success."
      : "When the learner gets here the lesson is over, and it counts as a failure."));
  }
  if (!terminal || state.expects.length) renderAnswers(side, state, sel);

  if (!terminal) {
    field(side, "Hint after a wrong answer", textInput(state.hint, (v) => { state.hint = v; },
      { className: "full" }), "(optional)");
    field(side, "Other ways to ask again", textArea(state.rephrase, (v) => { state.rephrase = v; }, 2),
      "(optional, one per line)");
    renderFallback(side, state, sel);
  }

  const del = make("button", { type: "button", className: "danger delete-state" }, "Delete this state");
  del.addEventListener("click", () => removeItem({ kind: "state", id: state.id }));
  side.append(make("div", { className: "row delete-row" }));
  side.lastChild.append(del);

  if (sel.kind !== "state") {
    const focus = side.querySelector(".current");
    focus?.scrollIntoView({ block: "nearest" });
  }
}

function renderAnswers(side, state, sel) {
  side.append(make("h3", {}, "What the learner might say"));
  if (!state.expects.length) {
    side.append(make("p", { className: "muted" }, "No answers yet: add one below, or drag the box's + handle onto another box."));
  }
  state.expects.forEach((exp, n) => {
    const box = make("fieldset", { className: `answer${sel.kind === "expect" && sel.id === exp.id ? " current" : ""}` });
    box.dataset.id = exp.id;
    const legend = make("legend", {}, `Answer ${n + 1}`);
    box.append(legend);
    field(box, "What the learner might say", textArea(exp.examples, (v) => { exp.examples = v; }),
      "(one example sentence per line; similar sentences count too)");
    field(box, "Short name for this answer", textInput(exp.intent, (v) => { exp.intent = v; },
      { className: "full", maxLength: 100 }), "(optional; shown on the arrow)");
    field(box, "Key words", textInput(exp.keywords.join(", "), (v) => { exp.keywords = commaList(v); },
      { className: "full" }), "(optional, separated by commas: any of them counts as this answer)");
    const target = make("select", { className: "state-pick" });
    stateOptions(target, exp.target);
    target.addEventListener("change", () => { snapshot(); exp.target = target.value; changed(); });
    field(box, "Then go to", target);
    field(box, "What the bot replies first", textInput(exp.reply, (v) => { exp.reply = v; },
      { className: "full" }), "(optional)");
    const rm = make("button", { type: "button", className: "secondary remove-answer" }, `Remove answer ${n + 1}`);
    rm.addEventListener("click", () => removeItem({ kind: "expect", state: state.id, id: exp.id }));
    box.append(make("div", { className: "row" }));
    box.lastChild.append(rm);
    side.append(box);
  });

  const add = make("div", { className: "add-answer" });
  const target = make("select", { className: "state-pick" });
  target.dataset.none = "a new state";
  const other = app.doc.states.find((s) => s.id !== state.id);
  stateOptions(target, other ? other.id : "", { none: "a new state" });
  field(add, "Add an answer that leads to", target);
  const button = make("button", { type: "button", id: "add-answer" }, "Add expected answer");
  button.addEventListener("click", () => {
    snapshot();
    let to = target.value;
    if (!to) {
      const s = blankState(uniqueName("state"));
      app.doc.states.push(s);
      app.layout[s.id] = spotNear(app.layout[state.id]);
      to = s.id;
    }
    const exp = addExpectation(state.id, to);
    app.sel = { kind: "expect", state: state.id, id: exp.id };
    changed({ panel: true });
    $("side").querySelector(`fieldset[data-id="${CSS.escape(exp.id)}"] textarea`)?.focus();
    announce(`Added an answer leading to “${stateById(to).name}”.`);
  });
  add.append(button);
  side.append(add);
}

function renderFallback(side, state, sel) {
  const box = make("fieldset", { className: `fallback${sel.kind === "fallback" ? " current" : ""}` });
  box.append(make("legend", {}, "When the learner keeps missing"));
  const tries = make("input", { type: "number", min: 1, max: 10, value: state.max_attempts });
  tries.addEventListener("input", () => {
    const n = Number(tries.value);
    if (Number.isInteger(n) && n >= 1 && n <= 10) { state.max_attempts = n; changed(); }
  });
  field(box, "Tries before moving on", tries);
  const target = make("select", { className: "state-pick" });
  target.dataset.none = "nowhere: keep asking";
  stateOptions(target, state.fallback, { none: "nowhere: keep asking" });
  target.addEventListener("change", () => { snapshot(); state.fallback = target.value || null; changed(); });
  field(box, "Then go to", target);
  field(box, "What the bot says then", textInput(state.fallback_line, (v) => { state.fallback_line = v; },
    { className: "full" }), "(optional)");
  side.append(box);
}

function fillLessonFields() {
  const d = app.doc;
  $("title").value = d.title;
  $("mission").value = d.mission;
  $("description").value = d.description || "";
  const level = $("level");
  if (d.level && !LEVELS.includes(d.level) && ![...level.options].some((o) => o.value === d.level)) {
    level.append(new Option(d.level));
  }
  level.value = d.level || "A2";
}

for (const key of ["title", "mission", "description"]) {
  $(key).addEventListener("input", () => { app.doc[key] = $(key).value; changed(); if (key === "title") renameOption(app.doc.id); });
}
$("level").addEventListener("change", () => { app.doc.level = $("level").value; changed(); });

// ------------------------------------------------------------------ lessons

function optionLabel(l) {
  const state = !l.latest_version ? "draft only" : l.published_version
    ? `published version ${l.published_version}` : `version ${l.latest_version}, not published`;
  return `${l.title || "Untitled lesson"} (${state})`;
}

async function loadPicker() {
  const picker = $("picker");
  picker.setAttribute("aria-busy", "true");
  try {
    app.lessons = (await api("/v1/lessons")).filter((l) => l.owned);
  } catch (err) {
    notify($("need-key"), `Your lessons could not be loaded: ${err.message}`, "error");
    return;
  } finally {
    picker.removeAttribute("aria-busy");
  }
  picker.replaceChildren(new Option("— choose a lesson —", ""));
  for (const l of app.lessons) picker.append(new Option(optionLabel(l), l.id));
  if (app.doc && ![...picker.options].some((o) => o.value === app.doc.id)) {
    picker.append(new Option(`${app.doc.title || "Untitled lesson"} (draft only)`, app.doc.id));
  }
  picker.value = app.doc?.id || "";
}

function renameOption(id) {
  const opt = [...$("picker").options].find((o) => o.value === id);
  const title = app.doc?.title || "Untitled lesson";
  if (!opt) {
    $("picker").append(new Option(`${title} (draft only)`, id));
    $("picker").value = id;
    return;
  }
  opt.textContent = opt.textContent.replace(/^.*( \([^()]*\))$/, `${title}$1`);
}

function show(doc, layout, issues) {
  app.doc = doc;
  app.layout = layout;
  app.sel = null;
  app.undo = [];
  $("undo").disabled = true;
  app.rev = app.savedRev = 0;
  app.issues = [];
  $("workspace").hidden = false; // before the layout, which needs the canvas's width
  autoLayout();
  fillLessonFields();
  const url = new URL(location.href);
  url.searchParams.set("lesson", doc.id);
  history.replaceState(null, "", url);
  $("picker").value = doc.id;
  renderSide();
  showIssues(issues);
  notify($("action-status"), "");
}

async function openLesson(id) {
  saveStatus("Opening…", "saving");
  try {
    const draft = await api(`/v1/lessons/${encodeURIComponent(id)}/draft`);
    if (draft.document) {
      const { layout = {}, ...lesson } = draft.document;
      const doc = normalise(lesson, id);
      show(doc, layout && typeof layout === "object" ? layout : {}, []);
      showIssues(draft.issues);
      saveStatus("Draft opened", "saved");
      return;
    }
    const versions = await api(`/v1/lessons/${encodeURIComponent(id)}/versions`);
    let doc = blankLesson(id);
    if (versions.length) {
      const latest = versions[versions.length - 1].version;
      doc = normalise((await api(`/v1/lessons/${encodeURIComponent(id)}?version=${latest}`)).document, id);
    }
    show(doc, {}, []);
    const check = await api("/v1/lessons/validate", { method: "POST", body: { document: lessonOnly() } });
    showIssues(check.issues);
    saveStatus(versions.length ? `Version ${versions[versions.length - 1].version} opened` : "", "saved");
  } catch (err) {
    saveStatus("");
    notify($("need-key"), `This lesson cannot be opened: ${err.message}`, "error");
  }
}

async function newLesson() {
  try {
    await flush();
  } catch (err) {
    if (!confirm(`The current lesson is not saved (${err.message}). Start a new one anyway?`)) return;
  }
  show(blankLesson(uuid()), {}, []);
  changed({ panel: true });
  await save();
  $("title").focus();
}

// ------------------------------------------------------------------ versions

function announce(text, kind = "") {
  notify($("action-status"), text, kind);
}

async function saveVersion(publish) {
  await flush();
  return api(`/v1/lessons/${app.doc.id}/versions`, { method: "POST",
    body: { document: lessonOnly(), publish } });
}

async function refreshIssues() {
  try {
    showIssues((await api("/v1/lessons/validate", { method: "POST", body: { document: lessonOnly() } })).issues);
  } catch { /* the list keeps the autosave's issues */ }
}

async function publish() {
  const button = $("publish");
  button.disabled = true;
  announce("Publishing…");
  try {
    const v = await saveVersion(true);
    announce(`Published version ${v.version}: new role-plays of this lesson use it.`, "ok");
    await loadPicker();
  } catch (err) {
    announce(err.code === "lesson_invalid" ? `Not published — fix these first: ${err.message}`
      : `Not published: ${err.message}`, "error");
    if (err.code === "lesson_invalid") refreshIssues();
  } finally {
    button.disabled = false;
  }
}

async function tryIt() {
  // Open the tab now, while the click still counts as the author's: after the save
  // the browser would treat it as a pop-up.
  const tab = window.open("", "_blank");
  announce("Saving a test version…");
  try {
    const v = await saveVersion(false);
    const url = `/static/play.html?lesson=${encodeURIComponent(app.doc.id)}&version=${v.version}`;
    announce(`Trying version ${v.version}${v.published ? " (published)" : " (not published)"} in a new tab.`, "ok");
    if (tab) tab.location.href = url;
    else location.href = url;
    await loadPicker();
  } catch (err) {
    tab?.close();
    announce(err.code === "lesson_invalid" ? `It cannot be played yet — fix these first: ${err.message}`
      : `It cannot be played: ${err.message}`, "error");
    if (err.code === "lesson_invalid") refreshIssues();
  }
}

// ------------------------------------------------------------------ wiring

$("add-state").addEventListener("click", () => addState());
$("delete-selected").addEventListener("click", () => removeItem(app.sel));
$("undo").addEventListener("click", undo);
$("publish").addEventListener("click", publish);
$("try-it").addEventListener("click", tryIt);
$("new-lesson").addEventListener("click", newLesson);
$("picker").addEventListener("change", async () => {
  const id = $("picker").value;
  if (!id || id === app.doc?.id) return;
  try {
    await flush();
  } catch { /* the failed save is shown in the status; the other lesson opens anyway */ }
  await openLesson(id);
});

const typing = (t) => t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));

document.addEventListener("keydown", (e) => {
  if (!app.doc || typing(e.target)) return;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
    e.preventDefault();
    undo();
  } else if ((e.key === "Delete" || e.key === "Backspace") && app.sel
    && (e.target === document.body || $("graph").contains(e.target))) {
    e.preventDefault();
    removeItem(app.sel);
  }
});

async function start() {
  if (!settings.apiKey) {
    notify($("need-key"), "Writing lessons needs your school's tenant API key: open Settings at the top of the page and paste it.", "error");
    $("new-lesson").disabled = true;
    $("picker").disabled = true;
    return;
  }
  // Read before the list loads: "New lesson" pressed meanwhile rewrites the address.
  const wanted = new URLSearchParams(location.search).get("lesson");
  await loadPicker();
  // A lesson the author started while the list loaded wins over the address's one.
  if (wanted && !app.doc) await openLesson(wanted);
}

start();
addEventListener("resize", () => drawGraph());
