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

// The launch token arrives in the URL fragment (never sent to a server).
// Keep it for this tab only, so a reload still works, and take it out of
// the address bar.
const storageKey = `reach-player:${config.attempt}`;
let token = new URLSearchParams(location.hash.slice(1)).get("token");
if (token) {
  sessionStorage.setItem(storageKey, token);
  history.replaceState(null, "", location.pathname + location.search);
} else {
  token = sessionStorage.getItem(storageKey);
}

function say(text) {
  statusEl.textContent = text;
}

// What the SCO set since the last successful commit, in call order.
const pending = [];
let initialized = false;
let unloading = false;
let terminated = false;
let navRequest = "";
let items = [];
let current = "";

function payload(event, values) {
  return JSON.stringify({ event, values });
}

// postSync sends a commit synchronously, as SCORM expects: the SCO's
// Commit returns only once the server has stored the data.
function postSync(event, values) {
  const xhr = new XMLHttpRequest();
  xhr.open("POST", commitURL, false);
  xhr.setRequestHeader("Content-Type", "application/json");
  xhr.setRequestHeader("Authorization", `Bearer ${token}`);
  try {
    xhr.send(payload(event, values));
  } catch (e) {
    return { ok: false, status: 0, body: null };
  }
  let body = null;
  try {
    body = JSON.parse(xhr.responseText);
  } catch (e) {
    body = null;
  }
  return { ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, body };
}

function reportFailure(status, body) {
  const msg = body && body.error ? body.error.message : `the server answered ${status || "nothing"}`;
  say(`Your progress could not be saved: ${msg}`);
}

// beacon hands a commit to the browser to deliver after the page is gone.
// sendBeacon cannot set headers, so the token rides in the body
// (text/plain keeps it a simple request that needs no preflight).
function beacon(event, values) {
  const body = JSON.stringify({ event, values, token });
  const blob = new Blob([body], { type: "text/plain;charset=UTF-8" });
  if (!navigator.sendBeacon(commitURL, blob)) {
    fetch(commitURL, { method: "POST", body, keepalive: true, headers: { "Content-Type": "text/plain" } });
  }
}

// sendOnUnload ends the session when the window goes away before the SCO
// terminated, with whatever it set since its last commit.
function sendOnUnload() {
  unloading = true;
  if (!initialized || terminated) return;
  beacon("unload", pending.splice(0));
  terminated = true;
}

function makeAPI(version) {
  const settings = {
    lmsCommitUrl: commitURL,
    dataCommitFormat: "json",
    autocommit: false,
    logLevel: 4,
    // Reach's commit: the event and the SetValue calls since the last
    // commit, not the library's rendering of the whole data model, so the
    // server checks each call exactly as the SCO made it. Commits are
    // synchronous, Terminate's too, so the SCO's Commit and Terminate
    // answer "true" only once the server has stored the data.
    httpService: {
      processHttpRequest(_url, _params, immediate) {
        const values = pending.slice();
        const event = immediate ? "terminate" : "commit";
        const r = postSync(event, values);
        if (r.ok) {
          pending.splice(0, values.length);
          // Saved: clear any earlier failure, but announce nothing, so
          // screen readers are not interrupted at every commit.
          if (statusEl.textContent.startsWith("Your progress could not be saved")) say("");
          return { result: "true", errorCode: 0 };
        }
        if (r.status === 0 && unloading) {
          // The page is going away and the SCO commits or terminates in
          // its own unload handler, where browsers refuse synchronous
          // requests: let the browser deliver it.
          beacon(immediate ? "terminate" : "unload", pending.splice(0));
          return { result: "true", errorCode: 0 };
        }
        if (r.status === 400) {
          // The server refused a value; resending it would fail again.
          pending.splice(0, values.length);
        }
        reportFailure(r.status, r.body);
        return { result: "false", errorCode: 101 };
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
      pending.push([String(element), String(value)]);
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
      const r = postSync("initialize", []);
      if (!r.ok) reportFailure(r.status, r.body);
    }
    return result;
  };
  api.on(v12 ? "LMSFinish" : "Terminate", () => {
    terminated = true;
    afterTerminate();
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

async function go(itemId) {
  if (!itemId || itemId === current) return;
  say("Opening the next lesson…");
  // Let the SCO finish as it would when its window closes, then send
  // whatever it left unsaved.
  if (initialized && !terminated) {
    frame.src = "about:blank";
    await new Promise((r) => setTimeout(r, 50));
  }
  if (initialized && !terminated) {
    const body = JSON.stringify({ event: "unload", values: pending.splice(0) });
    await fetch(commitURL, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    }).catch(() => {});
    terminated = true;
  }
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
  }
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
  window.addEventListener("pagehide", sendOnUnload);
  renderNavigation();
  frame.src = body.scoUrl;
}

start().catch((e) => {
  titleEl.textContent = "Cannot start";
  say(`The player could not start: ${e.message}`);
});
