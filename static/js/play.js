// The learner's role-play: a session over the WebSocket, spoken (AudioWorklet → 16 kHz
// PCM16 frames) or typed turns, the bot's replies as text and audio, pronunciation
// feedback under each spoken turn, and transparent reconnection that resumes the session.

import { api, header, notify, settings } from "/static/js/api.js";
import { MicError, startMic } from "/static/js/mic.js";

header("play");
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const learnerId = params.get("learner") || settings.learnerId || null;
const SAVED = "parley.session";

const live = {
  session: null, // {id, token, lesson_id, version}
  ws: null,
  closedByUs: false,
  retry: 0,
  lastIndex: -1, // the last turn index shown
  nextId: 1,
  pending: new Map(), // id -> {text, li, sent}
  audioHeader: null,
  playQueue: Promise.resolve(),
  stopMic: null,
  talking: false,
  pingTimer: null,
  pongDue: null,
  status: "active",
};

// ------------------------------------------------------------------ lessons and sessions

async function loadLessons() {
  const select = $("lesson");
  let lessons = [];
  try {
    lessons = await api("/v1/lessons");
  } catch (err) {
    notify($("status"), `Lessons could not be loaded: ${err.message}`, "error");
  }
  for (const l of lessons) {
    if (!l.published_version && !l.owned) continue;
    const opt = new Option(`${l.title} (${l.level || "any level"})`, l.id);
    select.append(opt);
  }
  const wanted = params.get("lesson");
  if (wanted && ![...select.options].some((o) => o.value === wanted)) {
    select.append(new Option(wanted, wanted));
  }
  if (wanted) select.value = wanted;
  const missions = new Map(lessons.map((l) => [l.id, l.mission]));
  const show = () => { $("pick-mission").textContent = missions.get(select.value) ? `Mission: ${missions.get(select.value)}` : ""; };
  select.addEventListener("change", show);
  show();
}

async function startSession(lessonId, version) {
  const body = { lesson_id: lessonId };
  if (version) body.version = Number(version);
  if (learnerId && settings.apiKey) body.learner_id = learnerId;
  const s = await api("/v1/sessions", { method: "POST", body });
  live.session = { id: s.id, token: s.token, lesson_id: lessonId, version: s.version };
  sessionStorage.setItem(SAVED, JSON.stringify(live.session));
  return s;
}

function resumable(lessonId, version) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SAVED) || "null");
    if (saved && saved.lesson_id === lessonId && (!version || String(saved.version) === String(version))) {
      return saved;
    }
  } catch { /* a bad value: start afresh */ }
  return null;
}

async function begin({ fresh }) {
  const lessonId = $("lesson").value;
  if (!lessonId) return;
  const version = params.get("version");
  notify($("status"), "");
  live.closedByUs = true;
  live.ws?.close(1000);
  $("log").textContent = "";
  live.lastIndex = -1;
  live.pending.clear();
  live.session = fresh ? null : resumable(lessonId, version);
  try {
    if (!live.session) await startSession(lessonId, version);
  } catch (err) {
    notify($("status"), `The lesson could not start: ${err.message}`, "error");
    return;
  }
  $("stage").hidden = false;
  connect();
}

// ------------------------------------------------------------------ the WebSocket

function wsUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const q = new URLSearchParams({ token: live.session.token });
  const voice = $("voice").value;
  if (voice) q.set("voice", voice);
  q.set("endpointing", endpointing());
  return `${scheme}://${location.host}/v1/sessions/${live.session.id}/stream?${q}`;
}

function connect() {
  live.closedByUs = false;
  const ws = new WebSocket(wsUrl());
  ws.binaryType = "arraybuffer";
  live.ws = ws;
  setConn("connecting…");
  ws.onopen = () => {
    live.retry = 0;
    setConn("connected");
    clearInterval(live.pingTimer);
    live.pingTimer = setInterval(ping, 15000);
  };
  ws.onmessage = (e) => (typeof e.data === "string" ? handle(JSON.parse(e.data)) : playAudio(e.data));
  ws.onclose = (e) => {
    clearInterval(live.pingTimer);
    clearTimeout(live.pongDue);
    if (live.ws !== ws || live.closedByUs || live.status !== "active") return;
    if (e.code >= 4000 && e.code < 5000) {
      setConn("disconnected", true);
      notify($("status"), `The session cannot continue (${e.reason || e.code}). Start it again.`, "error");
      sessionStorage.removeItem(SAVED);
      return;
    }
    const delay = Math.min(10000, 500 * 2 ** live.retry++);
    setConn(`connection lost, reconnecting in ${Math.round(delay / 100) / 10} s…`, true);
    setTimeout(() => live.ws === ws && connect(), delay);
  };
}

function ping() {
  send({ type: "ping" });
  clearTimeout(live.pongDue);
  // a silently dead connection (a network change) is only noticed by a missing answer
  live.pongDue = setTimeout(() => live.ws?.close(4999), 10000);
}

addEventListener("online", () => {
  if (live.session && live.ws?.readyState !== WebSocket.OPEN && live.status === "active") connect();
});

function setConn(text, down = false) {
  $("conn").textContent = text;
  $("conn").className = down ? "conn down" : "conn";
}

function send(msg) {
  if (live.ws?.readyState !== WebSocket.OPEN) return false;
  msg.id ??= live.nextId++;
  live.ws.send(JSON.stringify(msg));
  return msg.id;
}

// ------------------------------------------------------------------ server messages

function handle(msg) {
  switch (msg.type) {
    case "session": return onSession(msg.session);
    case "turn": return onTurn(msg);
    case "audio": live.audioHeader = msg; return;
    case "speech_started": return showPartial("…listening");
    case "partial": return showPartial(msg.text ? `${msg.text} …` : "…listening");
    case "speech_ended": return showPartial("…thinking");
    case "transcript": return onTranscript(msg);
    case "pronunciation": return onPronunciation(msg);
    case "pong": clearTimeout(live.pongDue); return;
    case "ended": live.status = "ended"; return finished("You ended the session.");
    case "error": return onError(msg);
    default: return;
  }
}

function onSession(s) {
  $("mission").textContent = s.mission;
  live.status = s.status;
  const turns = s.transcript || [];
  if (live.lastIndex < 0 && turns.length === 0) addBot(s.prompt);
  // resuming: show what the log does not have yet, then resend what the server never got
  const unsent = [];
  for (const [id, p] of live.pending) {
    const arrived = turns.some((t) => t.index > live.lastIndex && t.text === p.text);
    p.li.remove();
    live.pending.delete(id);
    if (!arrived) unsent.push(p.text);
  }
  for (const t of turns) {
    if (t.index <= live.lastIndex) continue;
    addMe(t.text);
    addBot(t.bot_lines);
    live.lastIndex = t.index;
  }
  for (const text of unsent) sendText(text);
  if (s.status !== "active") finished(statusLine(s.status));
}

function onTurn(msg) {
  const turn = msg.turn;
  const p = live.pending.get(msg.id);
  if (p) {
    p.li.classList.remove("pending");
    live.pending.delete(msg.id);
  }
  if (turn.index <= live.lastIndex) return;
  live.lastIndex = turn.index;
  addBot(turn.bot_lines);
  live.status = turn.status;
  if (turn.status !== "active") finished(statusLine(turn.status));
}

function onTranscript(msg) {
  showPartial("");
  const li = addMe(msg.text || "(nothing recognised)");
  li.dataset.utterance = msg.utterance;
  li.classList.add("spoken");
}

function onPronunciation(msg) {
  const li = document.querySelector(`#log li[data-utterance="${msg.utterance}"]`);
  if (!li || !msg.assessment) return;
  li.append(feedback(msg.assessment));
}

function onError(msg) {
  if (msg.utterance !== undefined) showPartial("");
  const p = live.pending.get(msg.id);
  if (p) {
    p.li.classList.add("failed");
    live.pending.delete(msg.id);
  }
  const text = msg.error.code === "no_speech" ? "I didn't hear anything — try again, a little louder."
    : msg.error.message;
  notify($("mic-status"), text, "error");
}

function statusLine(status) {
  return { completed: "Mission complete — well done!", failed: "The conversation ended. Try again?",
    ended: "You ended the session." }[status] || "";
}

function finished(text) {
  addSystem(text);
  sessionStorage.removeItem(SAVED);
  stopMic();
  $("mic").disabled = true;
  $("text").disabled = true;
}

// ------------------------------------------------------------------ the log

function add(cls, who, text) {
  const li = document.createElement("li");
  li.className = cls;
  const w = document.createElement("span");
  w.className = "who";
  w.textContent = who;
  const t = document.createElement("span");
  t.className = "text";
  t.textContent = text;
  li.append(w, " ", t); // the space: screen readers say "Bot, Hello", not "BotHello"
  $("log").append(li);
  li.scrollIntoView({ block: "nearest" });
  return li;
}

const addBot = (lines) => (lines || []).forEach((l) => add("bot", "Bot", l));
const addMe = (text) => add("me", "You", text);
const addSystem = (text) => text && add("system", "", text);

function showPartial(text) {
  $("partial").textContent = text;
  $("partial").hidden = !text;
}

function feedback(a) {
  const box = document.createElement("div");
  box.className = "feedback";
  box.setAttribute("aria-label", `Pronunciation: ${Math.round(a.scores.overall)} out of 100`);
  for (const w of a.words) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `word ${w.label}`;
    b.textContent = w.word;
    b.setAttribute("aria-label", `${w.word}: ${w.label}, ${Math.round(w.accuracy)} out of 100. Show its sounds.`);
    b.addEventListener("click", () => showWord(w));
    box.append(b);
  }
  const o = document.createElement("span");
  o.className = "overall";
  o.textContent = `overall ${Math.round(a.scores.overall)} · accuracy ${Math.round(a.scores.accuracy)} · fluency ${Math.round(a.scores.fluency)}`;
  box.append(o);
  return box;
}

function showWord(w) {
  $("word-title").textContent = w.word;
  $("word-score").textContent = w.label === "omitted" ? "Not heard." : `${w.label}, ${Math.round(w.accuracy)} / 100`;
  const list = $("phones");
  list.textContent = "";
  for (const p of w.phones) {
    const li = document.createElement("li");
    li.className = p.label;
    const ph = document.createElement("span");
    ph.className = "ph";
    ph.textContent = p.phone;
    li.append(ph, `${p.label} (${Math.round(p.score)}). ${p.tip}`);
    if (p.minimal_pair) li.append(` Practise: ${p.minimal_pair}.`);
    list.append(li);
  }
  $("listen").onclick = () => {
    const q = new URLSearchParams({ text: w.word, voice: $("voice").value || "en-us" });
    new Audio(`/v1/speech/say?${q}`).play().catch(() => {});
  };
  $("word").showModal();
}

// ------------------------------------------------------------------ typing

function sendText(text) {
  const li = addMe(text);
  li.classList.add("pending");
  const id = live.nextId++;
  live.pending.set(id, { text, li });
  send({ type: "text", text, id }); // unsent while offline: resent when the session resumes
}

$("type").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  sendText(text);
});

$("end").addEventListener("click", () => {
  if (!send({ type: "end" })) finished("You ended the session.");
});

// ------------------------------------------------------------------ bot audio

function playAudio(buffer) {
  if (!live.audioHeader || !$("voice").value) return;
  live.audioHeader = null;
  const url = URL.createObjectURL(new Blob([buffer], { type: "audio/wav" }));
  live.playQueue = live.playQueue.then(() => new Promise((done) => {
    const a = new Audio(url);
    a.onended = a.onerror = () => { URL.revokeObjectURL(url); done(); };
    a.play().catch(() => done());
  }));
}

$("voice").value = localStorage.getItem("parley.voice") ?? "en-us";
$("voice").addEventListener("change", () => {
  localStorage.setItem("parley.voice", $("voice").value);
  send({ type: "voice", voice: $("voice").value || null });
});

// ------------------------------------------------------------------ the microphone

const mode = () => document.querySelector("input[name=mode]:checked").value;

async function micOn() {
  notify($("mic-status"), "");
  try {
    live.stopMic = await startMic((pcm, rms) => {
      $("level").style.width = `${Math.min(100, Math.round(rms * 400))}%`;
      if (mode() === "handsfree" || live.talking) {
        if (live.ws?.readyState === WebSocket.OPEN) live.ws.send(pcm);
      }
    });
  } catch (err) {
    notify($("mic-status"), err instanceof MicError ? err.message : `Microphone error: ${err.message}`, "error");
    return;
  }
  $("mic").textContent = "Turn microphone off";
  $("mic").setAttribute("aria-pressed", "true");
  syncMode();
}

function stopMic() {
  live.stopMic?.();
  live.stopMic = null;
  $("mic").textContent = "Turn microphone on";
  $("mic").setAttribute("aria-pressed", "false");
  $("level").style.width = "0";
  syncMode();
}

// push-to-talk: only the button's release ends a turn, however long the learner pauses
const endpointing = () => (mode() === "ptt" ? "push_to_talk" : "vad");

function syncMode() {
  const ptt = mode() === "ptt" && live.stopMic;
  $("talk").hidden = !ptt;
  $("talk-help").hidden = !ptt;
}

function talk(on) {
  if (!live.stopMic || live.talking === on) return;
  live.talking = on;
  $("talk").setAttribute("aria-pressed", String(on));
  $("talk").textContent = on ? "Release to send" : "Hold to talk";
  if (!on) send({ type: "audio_end" });
}

$("mic").addEventListener("click", () => (live.stopMic ? stopMic() : micOn()));
for (const r of document.querySelectorAll("input[name=mode]")) {
  r.addEventListener("change", () => { send({ type: "endpointing", mode: endpointing() }); syncMode(); });
}
$("talk").addEventListener("pointerdown", () => talk(true));
$("talk").addEventListener("pointerup", () => talk(false));
$("talk").addEventListener("pointerleave", () => talk(false));
$("talk").addEventListener("keydown", (e) => { if (e.key === " " || e.key === "Enter") { e.preventDefault(); talk(true); } });
$("talk").addEventListener("keyup", (e) => { if (e.key === " " || e.key === "Enter") talk(false); });

// ------------------------------------------------------------------ start

$("start").addEventListener("click", () => begin({ fresh: true }));
await loadLessons();
if (params.get("lesson")) begin({ fresh: false });
