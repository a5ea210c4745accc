// The roster refreshes itself every minute (hx-trigger on #roster-body), but never while a
// nurse is typing or choosing, and it keeps the nurse's place: window scroll, the timeline's
// sideways scroll, and focus (htmx moves focus to the element with the same id in the new content).
(function () {
  "use strict";

  function rosterMayRefresh() {
    var active = document.activeElement;
    if (document.querySelector("#roster-body details.roster-reaction[open], #roster-body details.roster-assign[open] select:focus")) return false;
    return !(active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active.closest("#roster-body"));
  }

  // Only the minute's poll is issued by #roster-body itself; a nurse's own change comes from a form in it.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "roster-body" && !rosterMayRefresh()) event.preventDefault();
  });

  var kept = {};
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "roster-body") return;
    kept = {windowY: window.scrollY};
    document.querySelectorAll("#roster-body [data-roster-scroll]").forEach(function (box) {
      kept[box.dataset.rosterScroll] = box.scrollLeft;
    });
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (kept.windowY === undefined) return;
    document.querySelectorAll("#roster-body [data-roster-scroll]").forEach(function (box) {
      if (kept[box.dataset.rosterScroll] !== undefined) box.scrollLeft = kept[box.dataset.rosterScroll];
    });
    window.scrollTo({top: kept.windowY, behavior: "instant"});
    kept = {};
  });
})();
