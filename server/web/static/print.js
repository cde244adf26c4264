// The certificate's "Print or save as PDF" button.
(() => {
  'use strict';
  const b = document.querySelector('[data-print]');
  if (b) {
    b.hidden = false;
    b.addEventListener('click', () => window.print());
  }
})();
