// Moves on from the launch page to the module on the content origin. The
// page's CSP forbids inline scripts, so this small file does it; without
// JavaScript the page's link does the same.
(() => {
  'use strict';
  const a = document.querySelector('[data-launch-url]');
  if (a && a.href) window.location.replace(a.href);
})();
