// The roster refreshes itself every minute (hx-trigger on #roster-body), but never while a
// nurse is typing or choosing, nor while anything chosen or typed on it is still unsent; and it
// keeps the nurse's place: window scroll, the timeline's sideways scroll, and focus (htmx moves
// focus to the element with the same id in the new content).
(function () {
  "use strict";

  // A field whose value is not what the page brought: something the nurse chose or typed and has
  // not sent yet (a reaction half recorded, chairs reassigned, an override's reason).
  function changedByHand(field) {
    if (field.type === "hidden" || field.type === "submit" || field.type === "button") return false;
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT" && field.multiple) {
      return Array.prototype.some.call(field.options, function (option) { return option.selected !== option.defaultSelected; });
    }
    if (field.tagName === "SELECT") {
      var first = Array.prototype.findIndex.call(field.options, function (option) { return option.defaultSelected; });
      return field.selectedIndex !== Math.max(first, 0);
    }
    return field.value !== field.defaultValue;
  }

  function rosterMayRefresh() {
    var active = document.activeElement;
    if (document.querySelector("#roster-body details.roster-reaction[open]")) return false;
    if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active.closest("#roster-body")) return false;
    return !Array.prototype.some.call(document.querySelectorAll("#roster-body input, #roster-body textarea, #roster-body select"), changedByHand);
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
