// A tiny SCORM 1.2 SCO helper written for Reach's tests: finds the LMS's
// API in a parent frame and wraps the calls the test pages make.
function findAPI(win) {
  for (let i = 0; win && i < 10; i++) {
    if (win.API) return win.API;
    if (win.parent === win) break;
    win = win.parent;
  }
  return null;
}
const api = findAPI(window.parent);
function set(el, v) {
  const ok = api.LMSSetValue(el, v);
  if (ok !== "true") throw new Error(`LMSSetValue(${el}, ${v}) failed: ${api.LMSGetLastError()}`);
}
function get(el) {
  return api.LMSGetValue(el);
}
function log(text) {
  document.getElementById("log").textContent = text;
}
