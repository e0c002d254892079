// The lesson graph as hand-written SVG: states are boxes, expected answers are arrows,
// fallbacks are dashed arrows. The view owns no lesson data: it draws what it is given
// and reports what the author does with the mouse or keyboard through callbacks.

const NS = "http://www.w3.org/2000/svg";
export const BOX_W = 184;
export const BOX_H = 66;
const MIN_W = 760;
const MIN_H = 560;

const KIND_LABEL = { normal: "step", goal: "goal — lesson succeeds", failure: "failure — lesson ends" };

/** Short words for the graph; the full server message goes in the title and the list. */
export const ISSUE_SHORT = {
  unreachable: "Can't be reached",
  dead_end: "No way forward",
  no_lines: "Bot says nothing",
  empty_expectation: "An answer has no examples",
  unknown_target: "Arrow to a missing state",
  duplicate_state_name: "Name used twice",
  duplicate_expectation_id: "Answer id used twice",
  bad_pattern: "Bad pattern",
  unknown_entity: "Unknown entity",
};

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  if (parent) parent.append(node);
  return node;
}

function clip(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

/** The label of an expectation's arrow: its intent, else its first example. */
export function edgeLabel(exp) {
  return (exp.intent || "").trim() || (exp.examples || []).find((x) => x.trim()) || "(no examples yet)";
}

// Where the line from a box's centre towards `p` leaves the box.
function exitPoint(c, p, pad = 0) {
  const dx = p.x - c.x, dy = p.y - c.y;
  if (!dx && !dy) return { x: c.x, y: c.y };
  const t = Math.min((BOX_W / 2 + pad) / Math.abs(dx || 1e-9), (BOX_H / 2 + pad) / Math.abs(dy || 1e-9));
  return { x: c.x + dx * t, y: c.y + dy * t };
}

export class Graph {
  /**
   * callbacks: select(sel|null), move(id, x, y), moveEnd(id), connect(fromId, toId),
   * addAt(x, y), remove(sel), edit(id) — sel is {kind: "state", id} | {kind: "expect",
   * state, id} | {kind: "fallback", state}.
   */
  constructor(svg, callbacks) {
    this.svg = svg;
    this.cb = callbacks;
    this.layout = {};
    this.drag = null;
    el("defs", {}, svg).innerHTML = `
      <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="13" markerHeight="13" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>
      <marker id="arrow-sel" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="14" markerHeight="14" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#0b5394"/></marker>
      <marker id="arrow-fb" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="13" markerHeight="13" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#7a4b00"/></marker>`;
    this.root = el("g", { class: "graph-root" }, svg);
    this.overlay = el("g", { class: "overlay" }, svg);
    svg.addEventListener("pointerdown", (e) => this.pointerDown(e));
    svg.addEventListener("pointermove", (e) => this.pointerMove(e));
    svg.addEventListener("pointerup", (e) => this.pointerUp(e));
    svg.addEventListener("pointercancel", () => this.cancelDrag());
    svg.addEventListener("dblclick", (e) => this.doubleClick(e));
    svg.addEventListener("keydown", (e) => this.keyDown(e));
    // Any key (Tab into the graph included) brings the focus ring back.
    document.addEventListener("keydown", () => svg.classList.remove("pointer-input"), true);
  }

  /** Redraw everything; keyboard focus stays on the element that had it. */
  render(doc, layout, sel, issuesById) {
    this.doc = doc;
    this.layout = layout;
    const focusKey = this.svg.contains(document.activeElement) ? document.activeElement.dataset?.key : null;
    this.root.replaceChildren();
    // Layers, bottom to top: arrow lines, boxes, arrow labels, connectors. The labels are
    // the arrows' focusable part, after the boxes, so Tab visits the states first.
    const lines = el("g", { class: "edge-lines", "aria-hidden": "true" }, this.root);
    const boxes = el("g", { class: "boxes" }, this.root);
    const labels = el("g", { class: "edges" }, this.root);
    const handles = el("g", { class: "handles", "aria-hidden": "true" }, this.root);
    const byId = new Map(doc.states.map((s) => [s.id, s]));

    // Edges, grouped by pair of boxes so parallel and opposite arrows curve apart.
    const all = [];
    for (const s of doc.states) {
      for (const exp of s.expects) {
        if (byId.has(exp.target)) all.push({ from: s, to: byId.get(exp.target), exp, key: `e:${exp.id}` });
      }
      if (s.fallback && byId.has(s.fallback)) {
        all.push({ from: s, to: byId.get(s.fallback), fallback: true, key: `f:${s.id}` });
      }
    }
    const groups = new Map();
    for (const e of all) {
      const pair = e.from.id === e.to.id ? `self:${e.from.id}` : [e.from.id, e.to.id].sort().join("|");
      if (!groups.has(pair)) groups.set(pair, []);
      groups.get(pair).push(e);
    }
    for (const group of groups.values()) {
      group.forEach((e, i) => this.drawEdge(lines, labels, e, i, group.length, sel));
    }

    for (const s of doc.states) {
      this.drawBox(boxes, s, doc, sel, issuesById.get(s.id) || []);
      this.drawHandle(handles, s);
    }
    this.resize();
    if (focusKey) this.svg.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
  }

  resize() {
    let w = Math.max(MIN_W, this.svg.parentElement.clientWidth - 4), h = MIN_H;
    for (const p of Object.values(this.layout)) {
      w = Math.max(w, p.x + BOX_W + 80);
      h = Math.max(h, p.y + BOX_H + 80);
    }
    this.svg.setAttribute("width", w);
    this.svg.setAttribute("height", h);
    this.svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  }

  centre(id) {
    const p = this.layout[id] || { x: 0, y: 0 };
    return { x: p.x + BOX_W / 2, y: p.y + BOX_H / 2 };
  }

  drawEdge(lineLayer, labelLayer, e, index, count, sel) {
    const selected = sel && ((e.fallback && sel.kind === "fallback" && sel.state === e.from.id)
      || (!e.fallback && sel.kind === "expect" && sel.id === e.exp.id));
    const name = e.fallback ? "If the learner keeps missing" : `Answer “${edgeLabel(e.exp)}”`;
    const cls = `${e.fallback ? " fallback" : ""}${selected ? " selected" : ""}`;
    const selJson = JSON.stringify(e.fallback ? { kind: "fallback", state: e.from.id }
      : { kind: "expect", state: e.from.id, id: e.exp.id });
    const line = el("g", { class: `edge-line${cls}`, "data-sel": selJson, "data-focus": e.key },
      lineLayer);
    const g = el("g", {
      class: `edge${cls}`, tabindex: 0, role: "button", "aria-pressed": selected ? "true" : "false",
      "aria-label": `${name}: from ${e.from.name} to ${e.to.name}`,
      "data-key": e.key, "data-from": e.from.name, "data-to": e.to.name, "data-sel": selJson,
    }, labelLayer);
    let d, mid;
    if (e.from.id === e.to.id) {
      const p = this.layout[e.from.id] || { x: 0, y: 0 };
      const lift = 46 + index * 26;
      const x1 = p.x + BOX_W * 0.3, x2 = p.x + BOX_W * 0.7;
      d = `M${x1},${p.y} C${x1 - 30},${p.y - lift} ${x2 + 30},${p.y - lift} ${x2},${p.y - 2}`;
      mid = { x: p.x + BOX_W / 2, y: p.y - lift * 0.75 };
    } else {
      const a = this.centre(e.from.id), b = this.centre(e.to.id);
      // Offsets are measured against one fixed direction of the pair, so a→b and b→a part.
      const flip = e.from.id > e.to.id ? -1 : 1;
      const rank = index - (count - 1) / 2;
      const offset = rank * 60 * flip;
      const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
      const nx = -(b.y - a.y) / len, ny = (b.x - a.x) / len;
      const ctrl = { x: (a.x + b.x) / 2 + nx * offset, y: (a.y + b.y) / 2 + ny * offset };
      const start = exitPoint(a, ctrl, 1), end = exitPoint(b, ctrl, 3);
      d = `M${start.x},${start.y} Q${ctrl.x},${ctrl.y} ${end.x},${end.y}`;
      // Labels of parallel arrows also sit at different distances along them.
      const t = Math.min(0.7, Math.max(0.3, 0.5 + rank * 0.2));
      const at = (a0, c, b0) => (1 - t) ** 2 * a0 + 2 * (1 - t) * t * c + t ** 2 * b0;
      mid = { x: at(start.x, ctrl.x, end.x), y: at(start.y, ctrl.y, end.y) };
    }
    el("path", { class: "hit", d }, line);
    el("path", {
      class: "line", d,
      "marker-end": `url(#${selected ? "arrow-sel" : e.fallback ? "arrow-fb" : "arrow"})`,
    }, line);
    const text = e.fallback ? "keeps missing" : clip(edgeLabel(e.exp), 26);
    const bg = el("rect", { class: "label-bg", rx: 4 }, g);
    const label = el("text", { class: "label", x: mid.x, y: mid.y, "text-anchor": "middle",
      "dominant-baseline": "central" }, g);
    label.textContent = text;
    const w = text.length * 6.6 + 12;
    bg.setAttribute("x", mid.x - w / 2);
    bg.setAttribute("y", mid.y - 10);
    bg.setAttribute("width", w);
    bg.setAttribute("height", 20);
  }

  drawBox(parent, s, doc, sel, issues) {
    const p = this.layout[s.id] || { x: 20, y: 20 };
    const selected = sel?.kind === "state" && sel.id === s.id;
    const initial = doc.initial === s.id;
    const problems = issues.map((i) => ISSUE_SHORT[i.code] || i.code);
    const g = el("g", {
      class: `state kind-${s.kind}${selected ? " selected" : ""}${initial ? " initial" : ""}` +
        `${issues.length ? " has-issue" : ""}`,
      transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "button",
      "aria-pressed": selected ? "true" : "false",
      "aria-label": `State ${s.name}${initial ? ", the start" : ""}, ${KIND_LABEL[s.kind] || s.kind}` +
        `${problems.length ? `. Problems: ${issues.map((i) => i.message).join("; ")}` : ""}`,
      "data-key": `s:${s.id}`, "data-id": s.id, "data-name": s.name,
      "data-sel": JSON.stringify({ kind: "state", id: s.id }),
    }, parent);
    if (initial) {
      el("path", { class: "start-arrow", d: `M-46,${BOX_H / 2} L-4,${BOX_H / 2}`, "marker-end": "url(#arrow)" }, g);
      el("text", { class: "start-label", x: -48, y: BOX_H / 2 - 8 }, g).textContent = "start";
    }
    el("rect", { class: "focus-ring", x: -7, y: -7, width: BOX_W + 14, height: BOX_H + 14, rx: 12 }, g);
    el("rect", { class: "sel-ring", x: -4, y: -4, width: BOX_W + 8, height: BOX_H + 8, rx: 10 }, g);
    el("rect", { class: "box", width: BOX_W, height: BOX_H, rx: 8 }, g);
    el("text", { class: "name", x: 12, y: 26 }, g).textContent = clip(s.name || "(no name)", 19);
    const kind = `${initial ? "Start · " : ""}${s.kind === "normal" ? "step" : s.kind}`;
    el("text", { class: "kind", x: 12, y: 49 }, g).textContent = kind;
    if (issues.length) {
      const badge = el("g", { class: "badge", transform: `translate(${BOX_W - 4},4)` }, g);
      el("title", {}, badge).textContent = issues.map((i) => i.message).join("\n");
      el("circle", { r: 11 }, badge);
      el("text", { "text-anchor": "middle", "dominant-baseline": "central" }, badge).textContent =
        issues.length > 1 ? String(issues.length) : "!";
      const first = problems[0] + (problems.length > 1 ? ` (+${problems.length - 1} more)` : "");
      el("text", { class: "issue-text", x: 0, y: BOX_H + 17 }, g).textContent = `⚠ ${first}`;
    }
  }

  // The connector sits inside the box's corner, where no arrow starts or ends.
  drawHandle(parent, s) {
    const p = this.layout[s.id] || { x: 20, y: 20 };
    const handle = el("g", { class: "handle", "data-handle": s.id, "data-name": s.name,
      transform: `translate(${p.x + BOX_W - 17},${p.y + BOX_H - 17})` }, parent);
    el("title", {}, handle).textContent = "Drag onto another box to connect";
    el("circle", { r: 11 }, handle);
    el("path", { d: "M-5,0 H5 M0,-5 V5" }, handle);
  }

  // --- pointer ----------------------------------------------------------------------

  point(e) {
    const m = this.svg.getScreenCTM().inverse();
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m);
    return { x: p.x, y: p.y };
  }

  boxAt(p) {
    const states = this.doc?.states || [];
    for (let i = states.length - 1; i >= 0; i--) {
      const b = this.layout[states[i].id];
      if (b && p.x >= b.x && p.x <= b.x + BOX_W && p.y >= b.y && p.y <= b.y + BOX_H) return states[i].id;
    }
    return null;
  }

  pointerDown(e) {
    this.svg.classList.add("pointer-input"); // a box focused by the mouse shows no focus ring
    if (e.button !== 0) return;
    const p = this.point(e);
    const handle = e.target.closest("[data-handle]");
    const item = e.target.closest("[data-sel]");
    if (handle) {
      e.preventDefault();
      this.drag = { mode: "connect", from: handle.dataset.handle, start: p };
      this.rubber = el("line", { class: "rubber", x1: p.x, y1: p.y, x2: p.x, y2: p.y }, this.overlay);
    } else if (item) {
      const sel = JSON.parse(item.dataset.sel);
      if (sel.kind === "state") {
        const b = this.layout[sel.id];
        this.drag = { mode: "move", id: sel.id, dx: p.x - b.x, dy: p.y - b.y, start: p, moved: false };
      }
      // An arrow's line is not focusable; its label is.
      const focusable = item.dataset.focus
        ? this.svg.querySelector(`[data-key="${CSS.escape(item.dataset.focus)}"]`) : item;
      focusable?.focus({ preventScroll: true });
      this.cb.select(sel);
      e.preventDefault();
    } else {
      this.cb.select(null);
      return;
    }
    this.svg.setPointerCapture(e.pointerId);
  }

  pointerMove(e) {
    if (!this.drag) return;
    const p = this.point(e);
    if (this.drag.mode === "move") {
      if (!this.drag.moved && Math.hypot(p.x - this.drag.start.x, p.y - this.drag.start.y) < 3) return;
      this.drag.moved = true;
      const x = Math.max(0, Math.round(p.x - this.drag.dx)), y = Math.max(0, Math.round(p.y - this.drag.dy));
      this.cb.move(this.drag.id, x, y);
    } else {
      this.rubber.setAttribute("x2", p.x);
      this.rubber.setAttribute("y2", p.y);
      const over = this.boxAt(p);
      for (const b of this.svg.querySelectorAll(".state.drop-target")) b.classList.remove("drop-target");
      if (over && over !== this.drag.from) {
        this.svg.querySelector(`.state[data-id="${CSS.escape(over)}"]`)?.classList.add("drop-target");
      }
    }
  }

  pointerUp(e) {
    const drag = this.drag;
    if (!drag) return;
    this.cancelDrag();
    if (drag.mode === "move") {
      if (drag.moved) this.cb.moveEnd(drag.id);
    } else {
      const to = this.boxAt(this.point(e));
      if (to && to !== drag.from) this.cb.connect(drag.from, to);
    }
  }

  cancelDrag() {
    this.drag = null;
    this.rubber?.remove();
    this.rubber = null;
    for (const b of this.svg.querySelectorAll(".state.drop-target")) b.classList.remove("drop-target");
  }

  doubleClick(e) {
    const p = this.point(e);
    const on = this.boxAt(p);
    if (on) this.cb.edit(on);
    else if (!e.target.closest("[data-sel]")) this.cb.addAt(p.x - BOX_W / 2, p.y - BOX_H / 2);
  }

  // --- keyboard -----------------------------------------------------------------------

  keyDown(e) {
    const item = e.target.closest?.("[data-sel]");
    if (!item) return;
    const sel = JSON.parse(item.dataset.sel);
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.cb.select(sel);
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      e.stopPropagation();
      this.cb.remove(sel);
    } else if (sel.kind === "state" && e.key.startsWith("Arrow")) {
      e.preventDefault();
      const step = e.shiftKey ? 50 : 10;
      const b = this.layout[sel.id];
      const dx = { ArrowLeft: -step, ArrowRight: step }[e.key] || 0;
      const dy = { ArrowUp: -step, ArrowDown: step }[e.key] || 0;
      this.cb.select(sel);
      this.cb.move(sel.id, Math.max(0, b.x + dx), Math.max(0, b.y + dy));
      this.cb.moveEnd(sel.id);
    } else if (e.key === "Escape") {
      this.cb.select(null);
    }
  }
}
