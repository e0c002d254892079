// The pages' one way to the server: JSON over fetch with the caller's key, and the
// error shape every route answers ({"error": {"code", "message"}}) turned into ApiError.
// Settings (tenant API key, learner id) live in localStorage, shared by every page.

const KEY = "parley.apiKey";
const LEARNER = "parley.learnerId";

export const settings = {
  get apiKey() { return localStorage.getItem(KEY) || ""; },
  set apiKey(v) { v ? localStorage.setItem(KEY, v) : localStorage.removeItem(KEY); },
  get learnerId() { return localStorage.getItem(LEARNER) || ""; },
  set learnerId(v) { v ? localStorage.setItem(LEARNER, v) : localStorage.removeItem(LEARNER); },
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** fetch(path) with the key; JSON in and out; throws ApiError on any non-2xx answer. */
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const h = { ...headers };
  if (settings.apiKey) h.Authorization = `Bearer ${settings.apiKey}`;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof ArrayBuffer)) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, { method, body: payload, headers: h });
  } catch (err) {
    throw new ApiError(0, "network", `the server cannot be reached (${err.message})`);
  }
  if (!resp.ok) {
    let code = "http_" + resp.status, message = resp.statusText;
    try {
      const e = (await resp.json()).error;
      if (e) ({ code, message } = e);
    } catch { /* not JSON: keep the status text */ }
    throw new ApiError(resp.status, code, message);
  }
  if (raw) return resp;
  return resp.status === 204 ? null : resp.json();
}

/** A random UUID (v4); crypto.randomUUID needs a secure context, so fall back to getRandomValues. */
export function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Show a message in a live region (role="status" or "alert"); kind: "", "error", "ok". */
export function notify(el, text, kind = "") {
  el.textContent = text;
  el.className = `notice ${kind}`.trim();
  el.hidden = !text;
}

/** The shared page header with the settings dialog (API key and learner id). */
export function header(current) {
  const top = document.createElement("header");
  top.className = "top";
  const pages = [["play", "/static/play.html", "Role-play"], ["progress", "/static/progress.html", "Progress"],
    ["author", "/static/author.html", "Author"], ["docs", "/docs", "API"]];
  top.innerHTML = `<a class="brand" href="/static/index.html">Parley</a><nav aria-label="Pages"></nav>
    <button type="button" class="secondary" id="settings-open" aria-haspopup="dialog">Settings</button>
    <dialog id="settings" aria-labelledby="settings-title">
      <form method="dialog">
        <h2 id="settings-title">Settings</h2>
        <label for="set-key">Tenant API key <span class="muted">(for your own lessons, progress, authoring)</span></label>
        <input id="set-key" type="password" autocomplete="off" size="40">
        <label for="set-learner">Learner id <span class="muted">(your progress is kept under it)</span></label>
        <input id="set-learner" autocomplete="off" size="40">
        <div class="row" style="margin-top:.8rem"><button value="save" id="settings-save">Save</button>
          <button value="cancel" class="secondary" formnovalidate>Cancel</button></div>
      </form>
    </dialog>`;
  const nav = top.querySelector("nav");
  for (const [id, href, label] of pages) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    if (id === current) a.setAttribute("aria-current", "page");
    nav.append(a);
  }
  const dialog = top.querySelector("#settings");
  top.querySelector("#settings-open").addEventListener("click", () => {
    dialog.querySelector("#set-key").value = settings.apiKey;
    dialog.querySelector("#set-learner").value = settings.learnerId;
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "save") return;
    settings.apiKey = dialog.querySelector("#set-key").value.trim();
    settings.learnerId = dialog.querySelector("#set-learner").value.trim();
    location.reload();
  });
  document.body.prepend(top);
}
