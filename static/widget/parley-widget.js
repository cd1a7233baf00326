/*! Parley chat widget: <script src="https://HOST/static/widget/parley-widget.js" data-assistant="ast_…" async></script>
 * Settings: data-assistant, data-key, data-api-base, data-user-token | data-user-id + data-user-hash, or the
 * same fields (apiBase, userToken…) on window.ParleyWidget. An open shadow root with a constructed stylesheet
 * (CSP style-src 'self' holds); server text via textContent only; the token in sessionStorage; no cookies. */
(() => {
"use strict";
const script = document.currentScript;
if (!script || window.Parley?.version) return;
const conf = window.ParleyWidget || {};
const setting = (name) => script.dataset[name] || (typeof conf[name] === "string" ? conf[name] : "");
const assistantId = setting("assistant");
if (!/^ast_[A-Za-z0-9]+$/.test(assistantId)) {
  console.warn("Parley widget: data-assistant must be an assistant's id (ast_…).");
  return;
}
const apiBase = (setting("apiBase") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
const publishableKey = setting("key");
const [userToken, userId] = [setting("userToken"), setting("userId")];
// What a session starts with: a signed token, else an id and its hash; null: anonymous.
const identity = userToken ? { user_token: userToken } : userId ? { user_id: userId, user_hash: setting("userHash") } : null;
// Whose session a stored token is: another identity on the page starts a new session.
const who = userId || jwtSubject(userToken);
const STORE = `parley:${assistantId}`;
const warn = (text) => console.warn(`Parley widget (${assistantId}): ${text}`);
const POLL_MS = 10000;

const CSS = `
:host{all:initial}
.root{--accent:var(--parley-accent,#4f46e5);--on-accent:var(--parley-on-accent,#fff);--soft:color-mix(in srgb,var(--accent) 12%,#fff);
--ring:0 0 0 3px color-mix(in srgb,var(--accent) 20%,transparent);--line:1px solid #e4e7ec;--lift:0 1px 2px rgba(16,24,40,.04);
font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif;
color:#101828;text-align:left;direction:ltr;
letter-spacing:normal;word-spacing:normal;text-transform:none;text-indent:0;text-shadow:none;white-space:normal;visibility:visible;cursor:auto}
*,::before,::after{box-sizing:border-box}
button,input,textarea{font:inherit;color:inherit;letter-spacing:inherit;text-transform:inherit}
button{cursor:pointer;border:0;background:none}
[hidden]{display:none!important}
h2,h3,p{margin:0}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
:focus-visible{outline:3px solid color-mix(in srgb,var(--accent) 50%,#fff);outline-offset:2px}
.launcher,.head,.user .text,.btn,.send{background:var(--accent);color:var(--on-accent)}
.launcher,.avatar,.close,.rate button,.send{display:grid;place-items:center}
.launcher,.panel{position:fixed;right:24px;z-index:2147483000}
.launcher{bottom:24px;width:60px;height:60px;border-radius:50%;
box-shadow:0 8px 24px rgba(16,24,40,.22),0 2px 6px rgba(16,24,40,.12)}
:is(.launcher,.send,.btn):hover:enabled{filter:brightness(1.1)}
svg{fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.bubble{fill:currentColor;stroke:none}
.launcher svg{width:28px;height:28px}
[aria-expanded=false] .x,[aria-expanded=true] .bubble{display:none}
.panel{bottom:100px;width:380px;max-width:calc(100vw - 32px);height:600px;
max-height:calc(100vh - 124px);display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;
box-shadow:0 24px 48px -12px rgba(16,24,40,.28),0 0 0 1px rgba(16,24,40,.06)}
.head{display:flex;align-items:center;gap:12px;padding:16px 12px 16px 18px}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;font-weight:700;font-size:17px;
background:rgba(255,255,255,.2);box-shadow:inset 0 0 0 1px rgba(255,255,255,.3)}
.title{flex:1;min-width:0}
.name{font-size:16px;font-weight:650;line-height:1.25;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.sub{margin:2px 0 0;font-size:13px;opacity:.85}
.close{flex:none;width:36px;height:36px;border-radius:10px}
.close:hover{background:rgba(255,255,255,.16)}
.scroll{flex:1;overflow-y:auto;padding:18px 16px 10px;background:#f8f9fb;overscroll-behavior:contain}
.log{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:12px}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:85%}
.msg.user{align-self:flex-end;align-items:flex-end}
.who{font-size:12px;font-weight:600;color:#067647;margin:0 0 3px 4px}
.text{padding:10px 14px;border-radius:16px 16px 16px 4px;background:#fff;border:var(--line);white-space:pre-wrap;
overflow-wrap:anywhere;box-shadow:var(--lift)}
.user .text{border-color:transparent;border-radius:16px 16px 4px 16px}
.agent .text{background:#ecfdf3;border-color:#abefc6}
.failed .text{opacity:.55}
.state{font-size:12px;color:#b42318;margin:3px 4px 0}
.rate{display:flex;align-items:center;gap:2px;margin:4px 0 0 2px}
.rate button{width:30px;height:28px;border:1px solid transparent;border-radius:8px;color:#667085}
.rate button:hover:enabled{background:#eef0f3;color:#344054}
.rate [aria-pressed=true]{color:var(--accent);background:var(--soft);border-color:color-mix(in srgb,var(--accent) 30%,#fff)}
.rate svg{width:16px;height:16px}
.rate span{font-size:12px;color:#5b6474;margin-left:6px}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}
.chips button{padding:7px 13px;border:1px solid color-mix(in srgb,var(--accent) 45%,#d0d5dd);border-radius:18px;background:#fff;
color:#344054;font-size:13.5px;font-weight:500;text-align:left;box-shadow:var(--lift)}
.chips button:hover{background:var(--soft)}
.typing .text{display:flex;gap:4px;padding:15px 16px}
.dot{width:7px;height:7px;border-radius:50%;background:#98a2b3;animation:blink 1.2s infinite both}
.dot:nth-child(2){animation-delay:.2s}
.dot:nth-child(3){animation-delay:.4s}
@keyframes blink{0%,80%,100%{opacity:.3}40%{opacity:1}}
@media (prefers-reduced-motion:reduce){.dot{animation:none}}
.msg.form{align-self:stretch;max-width:none}
.card,.blocked{border:var(--line);border-radius:12px;background:#fff}
.card{padding:14px;box-shadow:var(--lift)}
.card h3{margin:0 0 2px;font-size:14px;font-weight:650}
.card p{margin:0 0 10px;font-size:13px;color:#5b6474}
.field{display:block;margin:0 0 8px;font-size:13px;font-weight:550;color:#344054}
.field input{display:block;width:100%;margin-top:4px;padding:8px 10px;border-radius:8px;font-size:14px;font-weight:400}
input,textarea{border:1px solid #d0d5dd;background:#fff}
input:focus,textarea:focus{outline:none;border-color:var(--accent);box-shadow:var(--ring)}
.field [aria-invalid=true]{border-color:#b42318}
.card .err{color:#b42318;margin-bottom:8px}
.btn{border-radius:8px;padding:8px 14px;font-size:14px;font-weight:600}
.btn:disabled{opacity:.6}
.btn.ghost{background:none;color:#344054;box-shadow:inset 0 0 0 1px #d0d5dd}
.row{display:flex;gap:8px}
.card .done{margin:0;font-size:14px;color:#067647}
.notice{display:flex;align-items:center;gap:10px;padding:10px 16px;font-size:13.5px;background:#fffaeb;color:#7a2e0e;
border-top:1px solid #fedf89}
.notice.bad{background:#fef3f2;color:#912018;border-color:#fecdca}
.notice span{flex:1}
.notice .btn{padding:6px 12px;font-size:13px}
.blocked{margin:64px 8px 0;padding:24px 18px;text-align:center}
.blocked strong{display:block;font-size:15px;margin-bottom:6px}
.blocked p{font-size:13.5px;color:#5b6474}
.compose{display:flex;align-items:flex-end;gap:8px;padding:12px 12px 8px;border-top:1px solid #eaecf0;background:#fff}
.compose textarea{flex:1;resize:none;height:44px;max-height:120px;padding:11px 12px;border-radius:12px;font-size:15px;line-height:1.4}
.send{flex:none;width:44px;height:44px;border-radius:12px}
.send:disabled{opacity:.4}
:disabled{cursor:default}
.close svg,.send svg{width:20px;height:20px}
.foot{display:flex;align-items:center;gap:8px;padding:0 14px 10px;background:#fff;font-size:12px;color:#667085}
.link{padding:2px 0;white-space:nowrap;color:var(--accent);font-size:12.5px;font-weight:600;text-decoration:underline;text-underline-offset:2px}
.by{margin-left:auto}
@media (max-width:480px){.panel{inset:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}
.launcher{right:16px;bottom:16px}.launcher[aria-expanded=true]{display:none}
.compose textarea,.field input{font-size:16px}}`;

// ---------- helpers ----------
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (tag === "button") node.type = "button"; // submit only when set so
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}
function attrs(node, map) {
  for (const k in map) node.setAttribute(k, map[k]);
  return node;
}
function add(parent, ...children) {
  parent.append(...children);
  return parent;
}
function on(node, type, handler) {
  node.addEventListener(type, handler);
  return node;
}
const ICONS = {
  bubble: "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z",
  x: "M6 6l12 12M18 6L6 18",
  send: "M4.5 12L20 4l-4.5 16-3.5-6.5z",
  up: "M7 10v10H4V10zm0 0l4-7c1.5 0 2.5 1 2.2 2.6L12.6 9H18a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 16.8 20H7",
  down: "M7 14V4H4v10zm0 0l4 7c1.5 0 2.5-1 2.2-2.6L12.6 15H18a2 2 0 0 0 2-2.3l-1.2-7A2 2 0 0 0 16.8 4H7",
};
function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = attrs(document.createElementNS(ns, "svg"), { viewBox: "0 0 24 24", "aria-hidden": "true", class: name });
  return add(svg, attrs(document.createElementNS(ns, "path"), { d: ICONS[name] })); // stroked by the svg rule
}
function jwtSubject(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"); // atob needs no padding
    return String(JSON.parse(atob(part)).sub || "");
  } catch {
    return "";
  }
}
// The accent colour (validated: it reaches CSS), and dark or white text on it, whichever reads better.
function applyTheme(host, color) {
  if (typeof color !== "string" || !/^#[0-9a-fA-F]{6}$/.test(color)) return;
  host.style.setProperty("--parley-accent", color);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.substr(i, 2), 16));
  host.style.setProperty("--parley-on-accent", r * 0.299 + g * 0.587 + b * 0.114 > 170 ? "#101828" : "#fff"); // YIQ
}
const seconds = (header) => Math.max(0, parseInt(header, 10) || 0); // Parley sends delta-seconds
// The default responder's offer of a human follow-up asks for an email or phone number.
const offersFollowUp = ({ body }) => /follow[ -]?up|get back to you/i.test(body) && /email|phone/i.test(body);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

// ---------- storage: sessionStorage, or memory when it is blocked ----------
let memory = null;
function load() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE));
    return saved?.token ? saved : null;
  } catch {
    return memory;
  }
}
function save(value) {
  memory = value;
  try {
    if (value) sessionStorage.setItem(STORE, JSON.stringify(value));
    else sessionStorage.removeItem(STORE);
  } catch {
    /* private mode or storage blocked: memory only */
  }
}

// ---------- the API ----------
class WidgetError extends Error {
  constructor(code, status, message, retryAfter, fields) {
    super(message || code);
    Object.assign(this, { code, status, retryAfter, fields });
  }
}
async function request(method, path, body, token) {
  const headers = {};
  if (body) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`${apiBase}/api/widget/${assistantId}${path}`, { method, headers, body: body && JSON.stringify(body), credentials: "omit" });
  } catch {
    throw new WidgetError("network", 0); // offline, or a CORS preflight refused
  }
  const json = await res.json().catch(() => ({}));
  if (res.ok) return json;
  const e = json.error || {};
  const code = e.code || (res.status >= 500 ? "server_error" : `http_${res.status}`);
  throw new WidgetError(code, res.status, e.message, seconds(res.headers.get("Retry-After")), e.fields);
}

let session = load();
if (session?.who !== who) session = null;
let starting = null;
function startSession() {
  starting ||= request("POST", "/session", { publishable_key: publishableKey || undefined, ...identity })
    .then((s) => {
      save((session = { token: s.session_token, conversation: s.conversation_id, who, rated: {}, lead: false }));
      return session;
    })
    .finally(() => (starting = null));
  return starting;
}
// A call with the visitor token; an expired or unknown token starts a new session and retries, once.
async function authed(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const s = session || (await startSession());
    try {
      return await request(method, path, body, s.token);
    } catch (e) {
      if (e.code !== "invalid_session_token" || attempt) throw e;
      if (session === s) save((session = null));
    }
  }
}
const remember = (field, value) => session && save(Object.assign(session, { [field]: value }));

// ---------- the UI ----------
let config = null;
let blocked = ""; // a refusal that ends the chat on this page: origin, identity, signin, key
let ui = {};
let rendered = {};
let opened = false;
let historyLoaded = false;
let sending = false;
let poller = null;
let waitUntil = 0;
let faq = null; // a promise of the first FAQ entries, to suggest

function build() {
  const host = el("parley-widget");
  host.style.setProperty("display", "block", "important");
  const shadow = host.attachShadow({ mode: "open" });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(el("style", "", CSS)); // browsers without constructed stylesheets
  }
  const name = config?.name || "Chat";
  applyTheme(host, config?.theme?.color);

  const launcher = add(attrs(el("button", "launcher"), { "aria-controls": "parley-panel" }), icon("bubble"), icon("x"));

  const panel = attrs(el("div", "panel"), { id: "parley-panel", role: "dialog", "aria-modal": true, "aria-label": `Chat with ${name}` });
  const close = add(attrs(el("button", "close"), { "aria-label": "Close chat" }), icon("x"));
  const head = add(
    el("div", "head"),
    attrs(el("div", "avatar", (name.trim()[0] || "?").toUpperCase()), { "aria-hidden": "true" }),
    add(el("div", "title"), el("h2", "name", name), config ? el("p", "sub", "We usually answer right away") : ""),
    close
  );
  const log = attrs(el("ol", "log"), { role: "log", "aria-live": "polite", "aria-label": "Messages" });
  const scroll = add(el("div", "scroll"), log);
  const notice = attrs(el("div", "notice"), { role: "alert", hidden: "" });

  const input = attrs(el("textarea"), { id: "parley-input", rows: "1", maxlength: "4000", placeholder: "Write a message…" });
  const send = add(attrs(el("button", "send"), { type: "submit", "aria-label": "Send message" }), icon("send"));
  const compose = add(el("form", "compose"), attrs(el("label", "sr", `Message ${name}`), { for: input.id }), input, send);
  const leadLink = el("button", "link", "Leave your email for a follow-up");
  leadLink.hidden = !config?.lead_capture;
  const foot = add(el("div", "foot"), leadLink, el("span", "by", "Powered by Parley"));

  add(panel, head, scroll, notice, compose, foot);
  shadow.append(add(el("div", "root"), panel, launcher));
  document.body.append(host);
  ui = { host, shadow, launcher, panel, close, scroll, log, notice, compose, input, send, leadLink, name };
  show(false);

  on(launcher, "click", () => (opened ? closePanel() : openPanel()));
  on(close, "click", closePanel);
  on(panel, "keydown", onKey);
  on(compose, "submit", submit);
  // Enter sends, Shift+Enter makes a new line.
  on(input, "keydown", (ev) => ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && submit(ev));
  on(input, "input", grow);
  on(leadLink, "click", () => showLead(true));

  if (blocked) showBlocked();
  else if (config?.greeting) addMessage({ role: "assistant", body: config.greeting });
  updateSend();
}

function show(open) {
  opened = open;
  ui.panel.hidden = !open;
  attrs(ui.launcher, { "aria-label": open ? "Close chat" : config ? `Open chat with ${ui.name}` : "Open chat", "aria-expanded": open });
}
function grow() {
  ui.input.style.height = "auto"; // CSSOM: a CSP allows it (not a style attribute in markup)
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 120)}px`;
  updateSend();
}
const busy = () => sending || !!blocked || Date.now() < waitUntil;
const updateSend = () => (ui.send.disabled = busy() || !ui.input.value.trim());
const focusables = () =>
  [...ui.panel.querySelectorAll("button,input,textarea,a[href]")].filter((n) => !n.disabled && n.offsetParent);
function onKey(ev) {
  if (ev.key === "Escape") {
    ev.preventDefault();
    closePanel();
  } else if (ev.key === "Tab") {
    // A modal dialog: Tab and Shift+Tab cycle inside it.
    const items = focusables();
    const active = ui.shadow.activeElement;
    const [first, last] = [items[0], items[items.length - 1]];
    if (ev.shiftKey ? active === first || !items.includes(active) : active === last) {
      ev.preventDefault();
      (ev.shiftKey ? last : first)?.focus();
    }
  }
}

function openPanel() {
  if (!ui.panel || opened) return;
  show(true);
  (blocked || ui.compose.hidden ? ui.close : ui.input).focus();
  scrollDown();
  if (blocked || !config) return;
  if (session && !historyLoaded) loadHistory();
  else if (!session) ensureSession();
  startPolling();
}
function closePanel() {
  if (!opened) return;
  show(false);
  ui.launcher.focus();
}
const scrollDown = () => (ui.scroll.scrollTop = ui.scroll.scrollHeight);
const insert = (item) => ui.log.insertBefore(item, ui.log.querySelector(".typing")); // before the typing dots

function addMessage(msg) {
  if (rendered[msg.id]) return rendered[msg.id];
  const role = ["user", "agent"].includes(msg.role) ? msg.role : "assistant";
  const li = el("li", `msg ${role}`);
  const text = el("div", "text", String(msg.body || ""));
  text.title = when(msg.created_at);
  li.append(role === "agent" ? el("span", "who", "Support team") : el("span", "sr", role === "user" ? "You:" : `${ui.name}:`), text);
  if (role === "assistant" && msg.id) li.append(rating(msg.id));
  if (msg.id) rendered[msg.id] = li;
  if (role === "user") ui.chips?.remove();
  insert(li);
  if (!ui.shadow.activeElement?.closest(".card")) scrollDown(); // not away from a form being filled
  return li;
}
function rating(messageId) {
  const given = session?.rated?.[messageId];
  const thanks = el("span", "", given ? "Thanks for the feedback" : "");
  const lock = (off) => buttons.forEach((x) => (x.disabled = off));
  const buttons = [["up", "Helpful"], ["down", "Not helpful"]].map(([value, label]) => {
    const b = add(attrs(el("button"), { "aria-label": label, "aria-pressed": given === value }), icon(value));
    b.disabled = !!given;
    on(b, "click", async () => {
      lock(true);
      b.setAttribute("aria-pressed", "true");
      try {
        await authed("POST", "/feedback", { rating: value, message_id: messageId });
        remember("rated", { ...session?.rated, [messageId]: value });
        thanks.textContent = "Thanks for the feedback";
      } catch (e) {
        b.setAttribute("aria-pressed", "false");
        lock(false);
        fail(e, () => b.click());
      }
    });
    return b;
  });
  return add(attrs(el("div", "rate"), { role: "group", "aria-label": "Was this answer helpful?" }), ...buttons, thanks);
}
function setTyping(active) {
  const t = ui.log.querySelector(".typing");
  if (active && !t) {
    const dots = add(attrs(el("div", "text"), { "aria-hidden": true }), el("span", "dot"), el("span", "dot"), el("span", "dot"));
    ui.log.append(add(el("li", "msg assistant typing"), el("span", "sr", `${ui.name} is typing…`), dots));
    scrollDown();
  } else if (!active) t?.remove();
}

// ---------- notices and refusals ----------
function note(text, kind, again) {
  const n = ui.notice;
  n.className = `notice${kind === "rate" ? "" : " bad"}`;
  n.dataset.kind = kind;
  n.replaceChildren(el("span", "", text), again ? on(el("button", "btn", "Retry"), "click", () => (clearNote(), again())) : "");
  n.hidden = false;
}
function clearNote() {
  ui.notice.hidden = true;
  ui.notice.textContent = "";
}
// A refusal that no retry mends, with a console note for the site owner; else "".
function refusal({ code }) {
  const here = location.origin;
  const [kind, text] =
    {
      origin_not_allowed: ["origin", `this website's origin (${here}) is not allowed. Site owner: add ${here} to the assistant's allowed origins.`],
      identity_verification_failed: ["identity", "identity verification failed: sign user_token (or user_hash) with the identity secret."],
    }[code] || (/^(api_key_|invalid_api_key)/.test(code) ? ["key", `data-key was refused (${code}): use a live publishable key.`] : [""]);
  if (kind) warn(text);
  return kind;
}
const REFUSALS = {
  origin: ["This chat isn't enabled for this website.", "If you run this site, the browser console says how to turn it on."],
  identity: ["We couldn't verify who you are.", "Please sign in again, then reload this page."],
  signin: ["Please sign in to chat with us.", "This chat is for signed-in customers."],
  key: ["This chat isn't available right now.", "Please try again later."],
};
function refuse(kind) {
  blocked = kind;
  if (ui.panel) showBlocked();
}
function showBlocked() {
  const [title, detail] = REFUSALS[blocked];
  clearNote();
  ui.scroll.replaceChildren(add(attrs(el("div", "blocked"), { role: "status" }), el("strong", "", title), el("p", "", detail)));
  ui.compose.hidden = ui.leadLink.hidden = true;
  if (opened) ui.close.focus();
}
// What the visitor is told about an error; `again` is what Retry does.
function fail(e, again) {
  const kind = refusal(e);
  if (kind) return refuse(kind);
  if (e.code === "rate_limited") {
    const n = e.retryAfter || 30;
    waitUntil = Date.now() + n * 1000;
    setTimeout(() => {
      if (ui.notice.dataset.kind === "rate" && Date.now() >= waitUntil) clearNote();
      updateSend();
    }, n * 1000 + 50);
    note(`You're sending messages too fast — try again in ${n} second${n === 1 ? "" : "s"}.`, "rate");
    return updateSend();
  }
  if (e.code === "network") return note("Can't reach the chat right now. Check your connection and try again.", "network", again);
  if (e.status === 400 && e.message) return note(e.message, "input");
  note("Something went wrong on our side. Please try again.", "server", again);
}

// ---------- what the visitor does ----------
async function ensureSession() {
  if (session || blocked) return;
  if (config.identity_verification === "required" && !identity) {
    warn("identity verification is required: set data-user-token (or data-user-id + data-user-hash).");
    return refuse("signin");
  }
  try {
    await startSession();
    // A new anonymous session's conversation is empty; a verified visitor may come back to one.
    if (identity) await loadHistory();
    else (historyLoaded = true), suggest();
  } catch (e) {
    fail(e, ensureSession);
  }
}
async function loadHistory(quiet) {
  try {
    const h = await authed("GET", "/history");
    historyLoaded = true;
    (h.results || []).forEach(addMessage);
    suggest();
  } catch (e) {
    if (!quiet) fail(e, loadHistory);
  }
}
// Agents' replies arrive through the history: look for them while the panel is open.
function startPolling() {
  poller ||= setInterval(() => {
    if (opened && session && !sending && !blocked && !document.hidden) loadHistory(true);
  }, POLL_MS);
}

function submit(ev) {
  ev.preventDefault();
  const text = ui.input.value.trim();
  if (ui.send.disabled || !text) return;
  ui.input.value = "";
  grow();
  say(text);
}
const say = (text) => sendMessage(text, addMessage({ role: "user", body: text }));
// Up to 3 FAQ questions to ask with a click, under the greeting until the visitor says something.
async function suggest() {
  const wanted = () => historyLoaded && !ui.chips && !ui.log.querySelector(".user");
  if (!wanted()) return;
  // A simple GET (If-None-Match would need a preflight): the HTTP cache revalidates with the ETag.
  const list = await (faq ||= request("GET", "/qnas").then((r) => r.results.slice(0, 3)).catch(() => []));
  if (!wanted() || !list.length) return;
  const chip = ({ question: q }) => on(el("button", "", q), "click", () => busy() || (ui.input.focus(), say(q)));
  ui.chips = add(attrs(el("div", "chips"), { role: "group", "aria-label": "Suggested questions" }), ...list.map(chip));
  ui.scroll.append(ui.chips);
  scrollDown();
}
async function sendMessage(text, pending) {
  sending = true;
  updateSend();
  clearNote();
  pending.classList.remove("failed");
  pending.querySelector(".state")?.remove();
  setTyping(true);
  try {
    const r = await authed("POST", "/chat", { message: text });
    if (r.message?.id) rendered[r.message.id] = pending;
    pending.querySelector(".text").title = when(r.message?.created_at);
    if (r.reply) {
      addMessage(r.reply);
      if (offersFollowUp(r.reply) && !session?.lead) showLead(false);
    }
  } catch (e) {
    if (e.code === "rate_limited" || e.status === 400) {
      // Not stored: the text goes back into the box, to send again.
      pending.remove();
      if (!ui.input.value) (ui.input.value = text), grow();
    } else {
      pending.classList.add("failed");
      pending.append(el("span", "state", "Not sent"));
    }
    fail(e, () => sendMessage(text, pending));
  } finally {
    sending = false;
    setTyping(false);
    updateSend();
  }
}

function showLead(focus) {
  const card = ui.log.querySelector(".card") || leadForm();
  ui.leadLink.hidden = true;
  if (focus) card.querySelector("input[type=email]")?.focus();
}
function leadForm() {
  const card = attrs(el("form", "card"), { "aria-label": "Leave your contact details", novalidate: "" });
  const inputs = {};
  const fields = [
    ["name", "Name (optional)", "text", "name", ""],
    ["email", "Email", "email", "email", "you@example.com"],
    ["phone", "Phone (optional)", "tel", "tel", "+44 20 7946 0958"],
  ].map(([key, label, type, autocomplete, placeholder]) => {
    inputs[key] = attrs(el("input"), { name: key, type, autocomplete, placeholder });
    return add(el("label", "field", label), inputs[key]);
  });
  const err = attrs(el("p", "err"), { id: "parley-lead-error", hidden: "" });
  const ok = attrs(el("button", "btn", "Send"), { type: "submit" });
  const later = el("button", "btn ghost", "Not now");
  add(
    card,
    el("h3", "", "Get a follow-up from the team"),
    el("p", "", "Leave your email or phone number and we'll get back to you."),
    ...fields,
    err,
    add(el("div", "row"), ok, later)
  );
  on(later, "click", () => {
    item.remove();
    ui.leadLink.hidden = !config.lead_capture;
    ui.input.focus();
  });
  const problem = (text, field) => {
    err.textContent = text;
    err.hidden = false;
    attrs(inputs[field], { "aria-invalid": true, "aria-describedby": err.id }).focus();
  };
  on(card, "submit", async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const k of ["name", "email", "phone"]) {
      inputs[k].removeAttribute("aria-invalid");
      const v = inputs[k].value.trim().replace(k === "phone" ? /[\s().-]/g : /^$/, "");
      if (v) body[k] = v;
    }
    if (!body.email && !body.phone) return problem("Please enter an email address or a phone number.", "email");
    if (body.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(body.email))
      return problem("Please enter a valid email address.", "email");
    if (body.phone && !/^\+[1-9]\d{6,14}$/.test(body.phone))
      return problem("Please enter the phone number in international format, starting with +.", "phone");
    err.hidden = true;
    ok.disabled = true;
    try {
      await authed("POST", "/lead", body);
      remember("lead", true);
      const thanks = `Thanks${body.name ? `, ${body.name}` : ""}! We'll get back to you at ${body.email || body.phone}.`;
      card.replaceChildren(el("p", "done", thanks)); // in the log, which announces it
      ui.leadLink.hidden = true;
    } catch (e) {
      ok.disabled = false;
      const bad = ["email", "phone", "name"].find((k) => e.fields?.[k]);
      if (e.status === 400 && bad) return problem([].concat(e.fields[bad])[0], bad);
      fail(e, () => card.requestSubmit());
    }
  });
  // In the conversation, where it was offered (the log announces it); later messages come after it.
  const item = insert(add(el("li", "msg form"), card));
  scrollDown();
  return card;
}

// ---------- start ----------
// The config, or a WidgetError to show with a Retry (offline, server error); null: no widget here.
async function loadConfig() {
  try {
    return (config = await request("GET", `/config${publishableKey ? `?key=${encodeURIComponent(publishableKey)}` : ""}`));
  } catch (e) {
    if (e.code === "not_found") {
      warn("no such assistant, or its widget is turned off.");
      return null;
    }
    blocked = refusal(e);
    return blocked ? {} : e;
  }
}
async function start() {
  const outcome = await loadConfig();
  if (!outcome) return;
  build();
  if (!(outcome instanceof WidgetError)) return;
  ui.compose.hidden = true;
  const again = async () => {
    const next = await loadConfig();
    if (next instanceof WidgetError) return fail(next, again);
    const wasOpen = opened;
    ui.host.remove();
    opened = false;
    if (!next) return;
    build();
    if (wasOpen) openPanel();
  };
  fail(outcome, again);
}

window.Parley = { version: "1", open: openPanel, close: closePanel };
if (document.body) start();
else document.addEventListener("DOMContentLoaded", start);
})();
