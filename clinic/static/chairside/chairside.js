// Chairside's behaviour on every page. The Content-Security-Policy allows no inline script and
// no style attribute, so what a template would have written inline lives here:
// - data-left / data-width: a position or size the server computed, in percent of the parent;
// - data-roster-chairs: the number of chairs, which the roster's print layout divides by;
// - data-print: a button that prints the page;
// - data-print-on-load: a page that opens the browser's print dialog once it has loaded (the printed roster);
// - data-submit-on-change: a select that submits its form when a choice is made.
(function () {
  "use strict";

  function percent(value) {
    var number = parseFloat(value);
    if (!isFinite(number)) return null;
    return Math.max(0, Math.min(100, number)) + "%";
  }

  function place(root) {
    if (!root || !root.querySelectorAll) return;
    var boxes = Array.prototype.slice.call(root.querySelectorAll("[data-left], [data-width], [data-roster-chairs]"));
    if (root.matches && root.matches("[data-left], [data-width], [data-roster-chairs]")) boxes.push(root);
    boxes.forEach(function (box) {
      var left = percent(box.dataset.left);
      var width = percent(box.dataset.width);
      var chairs = parseInt(box.dataset.rosterChairs, 10);
      if (left !== null) box.style.left = left;
      if (width !== null) box.style.width = width;
      if (chairs > 0) box.style.setProperty("--roster-chairs", String(chairs));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { place(document); });
  // After every stylesheet and font has loaded, so the dialog's preview shows the finished sheet.
  window.addEventListener("load", function () {
    if (document.body && document.body.hasAttribute("data-print-on-load")) window.print();
  });
  // htmx announces every piece of content it swaps in (and the page itself once it starts).
  document.addEventListener("htmx:load", function (event) { place(event.target); });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-submit-on-change]") && field.form) field.form.submit();
  });
})();
