// The Reach SCORM player. It runs on the content origin, puts the SCORM
// 1.2 `API` or SCORM 2004 `API_1484_11` object (scorm-again) on this
// window so the SCO in the frame below finds it in its parent, and sends
// every value the SCO sets to the app origin's SCORM API, which checks
// and stores it per attempt and records it as xAPI statements.
import { Scorm12API, Scorm2004API } from "scorm-again";

const config = JSON.parse(document.getElementById("player-config").textContent);
const statusEl = document.getElementById("player-status");
const frame = document.getElementById("player-frame");
const titleEl = document.getElementById("player-title");
const tocEl = document.getElementById("player-toc");
const prevBtn = document.getElementById("player-prev");
const nextBtn = document.getElementById("player-next");

const attemptURL = `${config.api}/attempts/${encodeURIComponent(config.attempt)}`;
const commitURL = `${attemptURL}/commit`;

// guarded wraps Web Storage: in a frame of another site with storage
// blocked, merely reading window.sessionStorage throws SecurityError, and
// storage may be partitioned or cleared at any time. What the player needs
// lives in memory (and in history.state, which survives a reload); storage
// is a best-effort copy.
function guarded(name) {
  const mem = new Map();
  return {
    get(key) {
      if (mem.has(key)) return mem.get(key);
      try {
        return window[name].getItem(key);
      } catch (e) {
        return null;
      }
    },
    set(key, value) {
      mem.set(key, String(value));
      try {
        window[name].setItem(key, String(value));
      } catch (e) {
        // Denied or full: the memory copy serves this page.
      }
    },
  };
}
const session = guarded("sessionStorage");

// The launch token arrives in the URL fragment (never sent to a server).
// Keep it for this tab only, in the history entry (so a reload still
// works without any storage) and in sessionStorage where allowed, and take
// it out of the address bar.
const storageKey = `reach-player:${config.attempt}`;
let token = new URLSearchParams(location.hash.slice(1)).get("token");
if (token) {
  session.set(storageKey, token);
  try {
    history.replaceState({ reachPlayerToken: token }, "", location.pathname + location.search);
  } catch (e) {
    // A sandboxed frame may refuse; the token stays in the fragment.
  }
} else {
  token = (history.state && history.state.reachPlayerToken) || session.get(storageKey);
}

function say(text) {
  statusEl.textContent = text;
}

// ---- commits -------------------------------------------------------------
//
// Every commit is numbered (seq, from the last number the server applied in
// this session) and carries every SetValue call not yet acknowledged, so a
// later commit supersedes an earlier one. The server applies a number once
// and ignores numbers at or below the highest it applied, so the player may
// send a commit again (same number, same body) and several commits may be
// in flight as the page goes away, in any order, without the data going
// back in time. While the page lives, Initialize, Commit and Terminate are
// synchronous, so the SCO hears "true" only once the server stored the
// data. When the player or the SCO's frame is going away, where browsers
// refuse synchronous requests, commits go out with fetch keepalive (or
// sendBeacon), which the browser delivers after the page is gone.

// Bodies of keepalive requests in flight are limited to 64 KiB per page.
const KEEPALIVE_BUDGET = 60 * 1024;

let seq = 0; // the last commit number used
const pending = []; // SetValue calls not yet acknowledged: {el, value, seq}
let latest = null; // the latest commit sent and not yet acknowledged
const inflight = new Set(); // asynchronous sends not yet answered
let initialized = false;
let finishCalled = false; // the SCO called Terminate / LMSFinish
let terminated = false; // ... and the library took it (the commit went out)
let endSent = false; // a terminate or unload commit went out
let endAcked = false; // the server took a Terminate of this session
let playerLeaving = false; // this page is going away (or replacing the SCO)
let frameLeaving = false; // the SCO's document is going away
let stopped = false; // a newer launch replaced this session
let navRequest = "";
let items = [];
let current = "";

function build(event) {
  seq += 1;
  for (const v of pending) if (!v.seq) v.seq = seq;
  latest = { event, seq, values: pending.map((v) => [v.el, v.value]) };
  if (event === "terminate" || event === "unload") endSent = true;
  return latest;
}

// acknowledged drops what the server has applied (up to commit n).
function acknowledged(n) {
  for (let i = pending.length - 1; i >= 0; i--) {
    if (pending[i].seq && pending[i].seq <= n) pending.splice(i, 1);
  }
  if (latest && latest.seq <= n) latest = null;
  if (statusEl.textContent.startsWith("Your progress could not be saved")) say("");
}

// squash keeps each element once, where it was first set, with its last
// value: the same data in fewer bytes, for a commit over the keepalive
// budget.
function squash(values) {
  const at = new Map();
  const out = [];
  for (const [el, value] of values) {
    if (at.has(el)) {
      out[at.get(el)][1] = value;
    } else {
      at.set(el, out.length);
      out.push([el, value]);
    }
  }
  return out;
}

function handleAnswer(req, status, body) {
  if (status >= 200 && status < 300) {
    if (req.event === "terminate") endAcked = true;
    acknowledged(body && typeof body.seq === "number" ? Math.max(body.seq, req.seq) : req.seq);
    return true;
  }
  if (status === 400 || status === 413) {
    // The server refused a value; sending it again would fail again.
    acknowledged(req.seq);
  }
  if (status === 409 || status === 401 || status === 403) stopped = true;
  reportFailure(status, body);
  return false;
}

// postSync sends a commit synchronously, as SCORM expects: the SCO's
// Commit returns only once the server has stored the data.
function postSync(req) {
  const xhr = new XMLHttpRequest();
  xhr.open("POST", commitURL, false);
  xhr.setRequestHeader("Content-Type", "application/json");
  xhr.setRequestHeader("Authorization", `Bearer ${token}`);
  try {
    xhr.send(JSON.stringify(req));
  } catch (e) {
    // Chromium refuses synchronous requests during page dismissal
    // ("Synchronous XHR in page dismissal"); other failures are the network.
    return { status: 0, body: null, dismissal: /dismissal/i.test(String(e && e.message)) };
  }
  let body = null;
  try {
    body = JSON.parse(xhr.responseText);
  } catch (e) {
    body = null;
  }
  return { status: xhr.status, body, dismissal: false };
}

// postAsync hands a commit to the browser so it is delivered even if the
// page goes away: fetch with keepalive, as a simple request (text/plain,
// the token in the body, no custom header) so no CORS preflight is needed.
// Over the keepalive budget it squashes the values, then tries sendBeacon,
// and as a last resort sends an ordinary fetch (delivered if the page
// stays, as when only the SCO's frame is replaced).
function postAsync(req) {
  let body = JSON.stringify({ ...req, token });
  if (body.length > KEEPALIVE_BUDGET) body = JSON.stringify({ ...req, values: squash(req.values), token });
  const init = { method: "POST", body, headers: { "Content-Type": "text/plain;charset=UTF-8" }, credentials: "omit" };
  let p;
  if (new Blob([body]).size <= KEEPALIVE_BUDGET) {
    p = fetch(commitURL, { ...init, keepalive: true });
  } else if (navigator.sendBeacon && navigator.sendBeacon(commitURL, new Blob([body], { type: "text/plain;charset=UTF-8" }))) {
    p = Promise.resolve(null);
  } else {
    p = fetch(commitURL, init);
  }
  const done = p
    .then(async (res) => {
      if (!res) return; // a beacon: the browser delivers it, no answer
      const answer = await res.json().catch(() => null);
      handleAnswer(req, res.status, answer);
    })
    .catch(() => {
      // Unreachable: kept in latest for the retry timer.
    })
    .finally(() => inflight.delete(done));
  inflight.add(done);
  return done;
}

function leaving() {
  return playerLeaving || frameLeaving;
}

// send delivers a commit: synchronously while the page and the SCO stay,
// otherwise through postAsync. It answers whether the SCO may take it as
// stored.
function send(req) {
  if (!leaving()) {
    const r = postSync(req);
    if (!r.dismissal && r.status !== 0) return handleAnswer(req, r.status, r.body);
    if (!r.dismissal && !leaving()) {
      reportFailure(0, null);
      return false;
    }
  }
  // Going away: the browser delivers it after the page is gone.
  postAsync(req);
  return true;
}

// flushOnLeave sends what the SCO left unsaved when its page or frame goes
// away: a Terminate the server has not acknowledged is sent again; a SCO
// that never finished ends its session with an unload commit.
function flushOnLeave() {
  if (!initialized || stopped) return;
  if (!endSent) {
    postAsync(build(finishCalled ? "terminate" : "unload"));
  } else if (latest) {
    postAsync(latest);
  }
}

// settle waits (at most ms) for the asynchronous sends to be answered.
function settle(ms) {
  return Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, ms))]);
}

// A commit that failed while the page stays is sent again, same number.
setInterval(() => {
  if (latest && !stopped && inflight.size === 0 && !playerLeaving) postAsync(latest);
}, 3000);

function reportFailure(status, body) {
  const msg = body && body.error ? body.error.message : `the server answered ${status || "nothing"}`;
  say(`Your progress could not be saved: ${msg}`);
}

// watchFrame (at Initialize and at each load of the frame) notes, before
// the SCO's own handlers run (capture listeners
// on its window), that the SCO's document is going away, so its last
// commits use the transport that survives it.
const watched = new WeakSet();
function watchFrame() {
  let w;
  try {
    w = frame.contentWindow;
    if (!w || w.location.href === "about:blank" || watched.has(w)) return;
  } catch (e) {
    return;
  }
  watched.add(w);
  frameLeaving = false;
  for (const ev of ["beforeunload", "pagehide", "unload"]) {
    w.addEventListener(ev, () => {
      frameLeaving = true;
    }, { capture: true });
  }
  // After the SCO's own unload handlers (registered before this one): a
  // SCO that leaves its frame without finishing (it navigates itself, or
  // its script died) keeps its session, but what it set is sent now.
  w.addEventListener("unload", () => {
    if (initialized && !endSent && !stopped && pending.some((v) => !v.seq)) postAsync(build("commit"));
  });
}

function makeAPI(version) {
  const settings = {
    lmsCommitUrl: commitURL,
    dataCommitFormat: "json",
    autocommit: false,
    logLevel: 4,
    // Reach's commit: the event and the SetValue calls not yet
    // acknowledged, not the library's rendering of the whole data model,
    // so the server checks each call exactly as the SCO made it. The
    // library's commit metadata says whether this is Terminate's commit.
    httpService: {
      processHttpRequest(_url, _params, immediate, _log, _listeners, metadata) {
        const terminate = metadata ? metadata.isTerminateCommit : immediate;
        if (stopped) return { result: "false", errorCode: 101 };
        // A Terminate that failed here but reached the server when sent
        // again: the session has ended, a second Terminate has nothing
        // more to send.
        if (endAcked && terminate) return { result: "true", errorCode: 0 };
        const ok = send(build(terminate ? "terminate" : "commit"));
        if (!ok && terminate) endSent = false;
        return ok ? { result: "true", errorCode: 0 } : { result: "false", errorCode: 101 };
      },
      updateSettings() {},
    },
  };
  const v12 = version === "1.2";
  const api = v12 ? new Scorm12API(settings) : new Scorm2004API(settings);
  const setName = v12 ? "LMSSetValue" : "SetValue";
  const set = api[setName].bind(api);
  api[setName] = (element, value) => {
    const result = set(element, value);
    if (String(result) === "true") {
      pending.push({ el: String(element), value: String(value), seq: 0 });
      if (element === "adl.nav.request") navRequest = String(value);
    }
    return result;
  };
  const init = v12 ? "LMSInitialize" : "Initialize";
  const initialize = api[init].bind(api);
  api[init] = (arg) => {
    const result = initialize(arg);
    if (String(result) === "true" && !initialized) {
      initialized = true;
      // The SCO's document is live now, maybe before its load event: watch
      // it before it can go away.
      watchFrame();
      send(build("initialize"));
    }
    return result;
  };
  const finishName = v12 ? "LMSFinish" : "Terminate";
  const finish = api[finishName].bind(api);
  api[finishName] = (arg) => {
    if (initialized) finishCalled = true;
    return finish(arg);
  };
  api.on(finishName, () => {
    // The library stays "not terminated" when Terminate's commit failed;
    // the player then keeps the commit and sends it again.
    if (!api.isTerminated()) return;
    terminated = true;
    if (!leaving()) afterTerminate();
  });
  return api;
}

// afterTerminate follows the SCO's navigation request (SCORM 2004
// adl.nav.request) once it has finished.
function afterTerminate() {
  const choice = /^\{target=([^}]+)\}(choice|jump)$/.exec(navRequest);
  let target = "";
  if (navRequest === "continue") {
    target = neighbour(1);
  } else if (navRequest === "previous") {
    target = neighbour(-1);
  } else if (choice && items.some((i) => i.launchable && i.id === choice[1])) {
    target = choice[1];
  }
  if (target) {
    go(target);
  } else {
    say("This lesson has finished. Choose another from the contents, or close this window.");
  }
}

function launchable() {
  return items.filter((i) => i.launchable);
}

function neighbour(step) {
  const list = launchable();
  const i = list.findIndex((it) => it.id === current);
  const n = list[i + step];
  return n ? n.id : "";
}

// finishSCO lets the SCO finish as it would when its window closes (its
// beforeunload, pagehide and unload handlers run as its frame is emptied),
// then sends whatever it left unsaved and waits for the server's answers,
// so nothing is lost when the player itself moves on.
async function finishSCO() {
  playerLeaving = true;
  if (initialized && !terminated) {
    await new Promise((resolve) => {
      frame.addEventListener("load", resolve, { once: true });
      frame.src = "about:blank";
      setTimeout(resolve, 1000);
    });
  }
  flushOnLeave();
  // keepalive delivers what is still in flight if the wait runs out.
  await settle(5000);
}

async function go(itemId) {
  if (!itemId || itemId === current || playerLeaving) return;
  say("Opening the next lesson…");
  await finishSCO();
  const res = await fetch(`${attemptURL}/navigate`, {
    method: "POST",
    body: JSON.stringify({ item: itemId }),
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    reportFailure(res.status, body);
    return;
  }
  location.assign(body.playerUrl);
}

function renderNavigation() {
  const list = launchable();
  if (list.length > 1) {
    const ul = document.createElement("ul");
    for (const it of items) {
      const li = document.createElement("li");
      li.style.setProperty("--depth", String(it.depth));
      if (it.launchable) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = it.title || it.id;
        if (it.current) b.setAttribute("aria-current", "page");
        b.addEventListener("click", () => go(it.id));
        li.appendChild(b);
      } else {
        const span = document.createElement("span");
        span.className = "player-heading";
        span.textContent = it.title || it.id;
        li.appendChild(span);
      }
      ul.appendChild(li);
    }
    tocEl.appendChild(ul);
    tocEl.hidden = false;
  }
  const prev = neighbour(-1);
  const next = neighbour(1);
  prevBtn.disabled = !prev;
  nextBtn.disabled = !next;
  prevBtn.addEventListener("click", () => go(neighbour(-1)));
  nextBtn.addEventListener("click", () => go(neighbour(1)));
}

async function start() {
  if (!token) {
    say("This player link has no launch token. Launch the module again from your learning page.");
    titleEl.textContent = "Cannot start";
    return;
  }
  const res = await fetch(attemptURL, { headers: { Authorization: `Bearer ${token}` } });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    titleEl.textContent = "Cannot start";
    reportFailure(res.status, body);
    return;
  }
  items = body.items || [];
  if (body.returnUrl) {
    const back = document.getElementById("player-return");
    back.href = body.returnUrl;
    back.hidden = false;
    back.addEventListener("click", async (ev) => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      ev.preventDefault();
      say("Saving your progress…");
      await finishSCO();
      location.assign(body.returnUrl);
    });
  }
  seq = Number(body.attempt.commitSeq) || 0;
  current = body.attempt.scoId;
  const item = items.find((i) => i.id === current);
  titleEl.textContent = item && item.title ? `${body.title}: ${item.title}` : body.title;
  document.title = titleEl.textContent;
  const api = makeAPI(body.attempt.version);
  api.loadFromFlattenedJSON(body.runtime, "");
  if (body.attempt.version !== "1.2") {
    // Tell the SCO whether "continue" and "previous" lead anywhere, so it
    // can offer its own buttons (adl.nav.request_valid, read-only to it).
    try {
      api.adl.nav.request_valid.continue = neighbour(1) ? "true" : "false";
      api.adl.nav.request_valid.previous = neighbour(-1) ? "true" : "false";
    } catch (e) {
      // An older runtime without these elements: the SCO sees "unknown".
    }
  }
  if (body.attempt.version === "1.2") {
    window.API = api;
  } else {
    window.API_1484_11 = api;
  }
  renderNavigation();
  frame.addEventListener("load", watchFrame);
  frame.src = body.scoUrl;
}

// This page going away: from the first of these events on, commits use
// the transport that survives the page (beforeunload runs in this window
// before the SCO's frame). pagehide is the last event: it sends what the
// SCO left unsaved. beforeunload may be cancelled, so it only switches
// the transport, and only for as long as the page is really leaving.
window.addEventListener("beforeunload", () => {
  if (playerLeaving) return;
  playerLeaving = true;
  setTimeout(() => {
    playerLeaving = false;
  }, 2000);
}, { capture: true });
window.addEventListener("pagehide", () => {
  playerLeaving = true;
  flushOnLeave();
}, { capture: true });
// A hidden tab may be discarded without pagehide (phones): send what the
// SCO set so far as an ordinary commit, which keeps the session open.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "hidden" || !initialized || endSent || stopped || pending.every((v) => v.seq)) return;
  postAsync(build("commit"));
});

start().catch((e) => {
  titleEl.textContent = "Cannot start";
  say(`The player could not start: ${e.message}`);
});
