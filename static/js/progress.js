// The learner's progress: GET /v1/learners/{id}/progress drawn as hand-written SVG charts
// (accuracy per phoneme, accuracy / one phoneme / fluency / speech rate over time), the
// counts, and a drill of the weakest sounds (GET …/practice → POST /v1/lessons → play it).
// Every chart is an <svg role="img"> with a summary as its name and a data table beside it.

import { api, header, notify, settings } from "/static/js/api.js";

header("progress");
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.search);
const learnerId = params.get("learner") || settings.learnerId;
const CORRECT_AT = 70; // the pronunciation labels' thresholds (speech/pronunciation/base.py)
const WRONG_BELOW = 40;

let practice = null; // the practice answer, once fetched

// ------------------------------------------------------------------ small helpers

const label = (score) => (score >= CORRECT_AT ? "correct" : score >= WRONG_BELOW ? "accented" : "wrong");
const fmt = (v, digits = 0) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const when = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
const shortWhen = (iso) => new Date(iso).toLocaleString(undefined,
  { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** An SVG element with attributes and children (strings become text). */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  for (const c of children) node.append(typeof c === "string" ? document.createTextNode(c) : c);
  return node;
}

/** The chart's <svg role="img">: its summary is both the aria-label and the <title>. */
function chartRoot(id, width, height, summary) {
  const root = svg("svg", { id, role: "img", "aria-label": summary, viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "xMidYMid meet", class: "chart-svg" });
  root.append(svg("title", {}, summary));
  return root;
}

/** A <table> with a caption (the data behind a chart). */
function table(caption, heads, rows) {
  const t = document.createElement("table");
  t.className = "data";
  t.createCaption().textContent = caption;
  const hr = t.createTHead().insertRow();
  for (const h of heads) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    hr.append(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((cell, i) => {
      const c = i === 0 ? document.createElement("th") : document.createElement("td");
      if (i === 0) c.scope = "row";
      c.textContent = cell;
      tr.append(c);
    });
  }
  return t;
}

function trendWords(slope, unit) {
  if (Math.abs(slope) < 0.5) return "steady lately";
  return `${slope > 0 ? "rising" : "falling"} ${Math.abs(slope).toFixed(1)}${unit} an assessment`;
}

// ------------------------------------------------------------------ charts

/** Bars of mean score per phoneme, weakest first, coloured by label; the weakest outlined. */
function barChart(phonemes, weakest) {
  const rows = [...phonemes].sort((a, b) => a.mean_score - b.mean_score || a.phone.localeCompare(b.phone));
  const W = 1040, H = 300, L = 44, R = 12, T = 24, B = 52;
  const band = (W - L - R) / Math.max(rows.length, 1);
  const barW = Math.min(40, band * 0.72);
  const y = (v) => T + (H - T - B) * (1 - v / 100);
  const first = weakest[0];
  const summary = `Bar chart of mean score per sound, ${rows.length} sounds, weakest first: ` +
    rows.slice(0, 3).map((p) => `${p.phone} ${fmt(p.mean_score)}`).join(", ") +
    `; strongest ${rows.at(-1).phone} ${fmt(rows.at(-1).mean_score)}. Weakest sound: ${first}.`;
  const root = chartRoot("phoneme-chart", W, H, summary);
  const grid = svg("g", { class: "grid-lines" });
  for (const v of [0, 20, 40, 60, 70, 80, 100]) {
    const cls = v === CORRECT_AT || v === WRONG_BELOW ? "threshold" : "gridline";
    grid.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: cls }),
      svg("text", { x: L - 8, y: y(v) + 4, class: "tick", "text-anchor": "end" }, String(v)));
  }
  root.append(grid);
  rows.forEach((p, i) => {
    const cx = L + band * (i + 0.5);
    const weak = weakest.includes(p.phone);
    const g = svg("g", { class: `bar ${label(p.mean_score)}${weak ? " weak" : ""}${p.phone === first ? " weakest" : ""}`,
      "data-phone": p.phone, "data-score": p.mean_score });
    g.append(svg("rect", { x: cx - barW / 2, y: y(p.mean_score), width: barW,
      height: Math.max(y(0) - y(p.mean_score), 1), rx: 3 },
    svg("title", {}, `${p.phone}: mean ${fmt(p.mean_score, 1)} over ${p.count} times, ` +
      `${fmt(p.wrong_rate * 100)} % wrong`)));
    g.append(svg("text", { x: cx, y: y(p.mean_score) - 5, class: "value", "text-anchor": "middle" },
      fmt(p.mean_score)));
    g.append(svg("text", { x: cx, y: H - B + 18, class: `phone${weak ? " weak-label" : ""}`,
      "text-anchor": "middle" }, p.phone));
    if (p.phone === first) {
      const anchor = i === 0 ? "start" : i === rows.length - 1 ? "end" : "middle";
      g.append(svg("text", { x: anchor === "start" ? cx - barW / 2 : anchor === "end" ? cx + barW / 2 : cx,
        y: H - B + 36, class: "callout", "text-anchor": anchor }, "▲ weakest"));
    }
    root.append(g);
  });
  root.append(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis" }));
  return root;
}

/**
 * A line chart over the history: points [{i, v, at}] at x = their index among the assessments
 * (`times`, their ISO dates; a phoneme's chart has points only where it was said).
 * score: 0–100 with the label bands behind; else a 0..max axis of `unit`.
 */
function lineChart(id, points, times, { summary, score = true, unit = "" }) {
  const n = times.length;
  const W = 520, H = 250, L = 46, R = 16, T = 16, B = 44;
  const max = score ? 100 : niceMax(Math.max(...points.map((p) => p.v), 1));
  const x = (i) => (n <= 1 ? (L + W - R) / 2 : L + (W - L - R) * (i / (n - 1)));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const root = chartRoot(id, W, H, summary);
  if (score) {
    root.append(
      svg("rect", { x: L, width: W - L - R, y: y(100), height: y(CORRECT_AT) - y(100), class: "band correct" }),
      svg("rect", { x: L, width: W - L - R, y: y(CORRECT_AT), height: y(WRONG_BELOW) - y(CORRECT_AT), class: "band accented" }),
      svg("rect", { x: L, width: W - L - R, y: y(WRONG_BELOW), height: y(0) - y(WRONG_BELOW), class: "band wrong" }));
  }
  const ticks = score ? [0, 40, 70, 100] : [0, max / 4, max / 2, (3 * max) / 4, max];
  for (const v of ticks) {
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "gridline" }),
      svg("text", { x: L - 8, y: y(v) + 4, class: "tick", "text-anchor": "end" }, fmt(v)));
  }
  root.append(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis" }));
  if (n) {
    root.append(svg("text", { x: x(0), y: H - B + 18, class: "tick", "text-anchor": n === 1 ? "middle" : "start" },
      shortWhen(times[0])));
    if (n > 1 && shortWhen(times[0]) !== shortWhen(times[n - 1])) {
      root.append(svg("text", { x: x(n - 1), y: H - B + 18, class: "tick", "text-anchor": "end" },
        shortWhen(times[n - 1])));
    }
  }
  root.append(svg("text", { x: (L + W - R) / 2, y: H - 6, class: "axis-title", "text-anchor": "middle" },
    `assessments, oldest to latest (${n})`));
  if (points.length > 1) {
    root.append(svg("polyline", { class: "line", points: points.map((p) => `${x(p.i)},${y(p.v)}`).join(" ") }));
  }
  for (const p of points) {
    root.append(svg("circle", { cx: x(p.i), cy: y(p.v), r: 5, class: `point ${score ? label(p.v) : "plain"}`,
      "data-value": p.v }, svg("title", {}, `${when(p.at)}: ${fmt(p.v, 1)}${unit}`)));
  }
  return root;
}

function niceMax(v) {
  const step = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 4, 5, 10]) if (m * step >= v * 1.1) return m * step;
  return 10 * step;
}

function place(wrapId, chart) {
  $(wrapId).replaceChildren(chart);
}

function seriesSummary(name, values, unit, n) {
  if (!values.length) return `${name}: no values yet.`;
  const first = values[0], last = values.at(-1);
  const lo = Math.min(...values), hi = Math.max(...values);
  return `Line chart of ${name} over ${values.length} of ${n} assessments: first ${fmt(first)}${unit}, ` +
    `latest ${fmt(last)}${unit}, lowest ${fmt(lo)}${unit}, highest ${fmt(hi)}${unit}.`;
}

function historyChart(wrapId, tableId, id, history, name, pick, opts) {
  const points = history.map((h, i) => ({ i, v: pick(h), at: h.at })).filter((p) => p.v !== undefined && p.v !== null);
  const summary = seriesSummary(name, points.map((p) => p.v), opts.unit || "", history.length);
  place(wrapId, lineChart(id, points, history.map((h) => h.at), { ...opts, summary }));
  $(tableId).replaceChildren(table(`${name[0].toUpperCase()}${name.slice(1)} of each assessment`,
    ["#", "When", opts.column || name],
    points.map((p) => [String(p.i + 1), when(p.at), fmt(p.v, 1)])));
  return points.length;
}

// ------------------------------------------------------------------ the page

function showNumbers(p) {
  $("stat-lessons").textContent = String(p.lessons_completed);
  $("stat-sessions").textContent = String(p.sessions);
  $("stat-assessments").textContent = String(p.assessments);
  $("stat-words").textContent = String(p.words_used);
  $("stat-accuracy").textContent = fmt(p.accuracy.latest);
  $("stat-fluency").textContent = fmt(p.fluency.latest);
  $("stat-rate").textContent = fmt(p.speech_rate_wpm.latest);
  $("stat-rate").append(Object.assign(document.createElement("span"), { className: "unit", textContent: " wpm" }));
  const trendLine = (id, t, unit) => {
    $(id).textContent = t.latest === null ? "not assessed yet"
      : `mean ${fmt(t.mean)}${unit}, ${trendWords(t.slope, unit)}`;
  };
  trendLine("trend-accuracy", p.accuracy, "");
  trendLine("trend-fluency", p.fluency, "");
  trendLine("trend-rate", p.speech_rate_wpm, " wpm");
}

function showPhonemes(p) {
  if (!p.phonemes.length) {
    $("phoneme-chart-wrap").replaceChildren(Object.assign(document.createElement("p"),
      { className: "muted", textContent: "No sounds assessed yet: speak through a lesson first." }));
    return;
  }
  const byPhone = new Map(p.phonemes.map((x) => [x.phone, x]));
  $("weakest-line").textContent = p.weakest.length
    ? `Your weakest (by mean score, weighed by how often you said them): ` +
      `${p.weakest.map((w) => `${w} (${fmt(byPhone.get(w)?.mean_score)})`).join(", ")}.` : "";
  place("phoneme-chart-wrap", barChart(p.phonemes, p.weakest));
  const rows = [...p.phonemes].sort((a, b) => a.mean_score - b.mean_score);
  $("phoneme-table").replaceChildren(table("Mean score per sound", ["Sound", "Mean score", "Label", "Times assessed", "Wrong"],
    rows.map((x) => [x.phone + (p.weakest.includes(x.phone) ? " (weak)" : ""), fmt(x.mean_score, 1),
      label(x.mean_score), String(x.count), `${fmt(x.wrong_rate * 100)} %`])));
}

function showHistory(p) {
  const h = p.history;
  if (!h.length) {
    for (const wrap of ["accuracy-chart-wrap", "phone-chart-wrap", "fluency-chart-wrap", "rate-chart-wrap"]) {
      $(wrap).replaceChildren(Object.assign(document.createElement("p"),
        { className: "muted", textContent: "No assessments yet: speak through a lesson first." }));
    }
    $("phone-select").disabled = true;
    return;
  }
  historyChart("accuracy-chart-wrap", "accuracy-table", "accuracy-chart", h, "accuracy", (x) => x.accuracy, {});
  historyChart("fluency-chart-wrap", "fluency-table", "fluency-chart", h, "fluency", (x) => x.fluency, {});
  historyChart("rate-chart-wrap", "rate-table", "rate-chart", h, "speech rate", (x) => x.speech_rate_wpm,
    { score: false, unit: " wpm", column: "Words per minute" });
  const select = $("phone-select");
  const phones = [...p.phonemes].sort((a, b) => a.phone.localeCompare(b.phone));
  select.replaceChildren(...phones.map((x) => new Option(`${x.phone} (mean ${fmt(x.mean_score)})`, x.phone)));
  const drawPhone = () => {
    const phone = select.value;
    $("phone-title").textContent = phone ? `${phone} over time` : "One sound over time";
    const said = historyChart("phone-chart-wrap", "phone-table", "phone-chart", h, `the score of ${phone}`,
      (x) => x.phonemes[phone], { column: `${phone} score` });
    $("phone-note").textContent = `Mean score of ${phone} in each assessment that had it: ` +
      `${said} of ${h.length}.`;
  };
  select.value = p.weakest[0] || phones[0]?.phone || "";
  select.disabled = !phones.length;
  select.addEventListener("change", drawPhone);
  if (phones.length) drawPhone();
}

async function loadPractice() {
  const list = $("practice-words");
  try {
    practice = await api(`/v1/learners/${encodeURIComponent(learnerId)}/practice`);
  } catch (err) {
    if (err.status === 404) {
      $("practice").disabled = true;
      notify($("practice-status"), "A drill needs some assessed speech first: speak through a lesson, then come back.");
    } else {
      notify($("practice-status"), `The practice words could not be loaded: ${err.message}`, "error");
    }
    return;
  }
  const targets = practice.weak_phonemes.join(", ");
  $("practice-intro").textContent = `A short drill of ${practice.words.length} real words full of your weakest ` +
    `sounds (${targets}): say each word, and the lesson moves on.`;
  list.replaceChildren(...practice.words.map((w) => {
    const li = document.createElement("li");
    const word = document.createElement("strong");
    word.textContent = w.word;
    const phones = document.createElement("span");
    phones.className = "phones-line";
    for (const ph of w.phones) {
      const s = document.createElement(w.targets.includes(ph) ? "mark" : "span");
      s.textContent = ph;
      phones.append(s, " ");
    }
    li.append(word, " ", phones);
    return li;
  }));
}

async function startPractice() {
  const button = $("practice");
  button.disabled = true;
  notify($("practice-status"), "Preparing your drill…");
  try {
    practice ||= await api(`/v1/learners/${encodeURIComponent(learnerId)}/practice`);
    const lesson = await api("/v1/lessons", { method: "POST", body: { document: practice.lesson } });
    notify($("practice-status"), "Drill ready: opening the role-play…", "ok");
    location.href = `/static/play.html?lesson=${encodeURIComponent(lesson.id)}&learner=${encodeURIComponent(learnerId)}`;
  } catch (err) {
    notify($("practice-status"), `The drill could not be created: ${err.message}`, "error");
    button.disabled = false;
  }
}

function guide(text) {
  $("guide-text").textContent = text;
  $("guide").hidden = false;
}

async function main() {
  $("guide-settings").addEventListener("click", () => $("settings-open").click());
  if (!settings.apiKey || !learnerId) {
    const missing = [!settings.apiKey && "a tenant API key", !learnerId && "a learner id"].filter(Boolean);
    guide(`To see your progress, set ${missing.join(" and ")} in Settings (top right): ` +
      "progress is kept per learner id, under your tenant.");
    return;
  }
  $("who").textContent = ` — ${learnerId}`;
  notify($("status"), "Loading your progress…");
  let progress;
  try {
    progress = await api(`/v1/learners/${encodeURIComponent(learnerId)}/progress`);
  } catch (err) {
    notify($("status"), "");
    if (err.status === 404) {
      guide(`No progress yet for learner “${learnerId}”. Play a lesson (or have speech assessed) ` +
        "with this learner id, then come back. Check the learner id in Settings if you expected some.");
    } else if (err.status === 401 || err.status === 403) {
      guide(`The tenant API key in Settings was not accepted (${err.message}). Check it in Settings.`);
    } else {
      notify($("status"), `Your progress could not be loaded: ${err.message}`, "error");
    }
    return;
  }
  notify($("status"), "");
  $("content").hidden = false;
  showNumbers(progress);
  showPhonemes(progress);
  showHistory(progress);
  $("practice").addEventListener("click", startPractice);
  if (progress.weakest.length) {
    await loadPractice();
  } else {
    $("practice").disabled = true;
    notify($("practice-status"), "A drill needs some assessed speech first: speak through a lesson, then come back.");
  }
  document.body.dataset.ready = "true";
}

main();
