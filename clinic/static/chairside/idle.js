// Chairside: the warning before an idle session is signed out.
//
// <body> carries data-idle-seconds (the server's SESSION_IDLE_MINUTES), data-idle-warning-seconds
// and data-keep-alive-url for a signed-in user. The count starts again with every page and every
// htmx request a person makes; the requests a page makes by itself (an element whose hx-trigger is
// "every ...", such as the roster's refresh) are marked with X-Chairside-Background, so the server
// does not count them as activity either. When the time is up the page loads itself again: the
// server then signs the session out and shows the login page with a sentence saying why.
(function () {
  "use strict";
  var body = document.body;
  var idleSeconds = Number(body.dataset.idleSeconds);
  if (!idleSeconds) {
    return;
  }
  var warningSeconds = Math.min(Number(body.dataset.idleWarningSeconds) || 120, idleSeconds);
  var keepAliveUrl = body.dataset.keepAliveUrl;
  var warnTimer = null;
  var endTimer = null;
  var box = null;

  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function isBackground(element) {
    var trigger = element && element.getAttribute ? element.getAttribute("hx-trigger") || "" : "";
    return /^\s*every\s/.test(trigger);
  }

  function minutesText(seconds) {
    var minutes = Math.round(seconds / 60);
    return minutes === 1 ? "1 minute" : minutes + " minutes";
  }

  function hideWarning() {
    if (box) {
      box.remove();
      box = null;
    }
  }

  function showWarning() {
    hideWarning();
    box = document.createElement("div");
    box.className = "alert alert-warning shadow position-fixed bottom-0 end-0 m-3 idle-warning d-print-none";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-live", "assertive");
    box.setAttribute("aria-labelledby", "idle-warning-text");
    var text = document.createElement("p");
    text.id = "idle-warning-text";
    text.className = "mb-2";
    text.textContent =
      "You will be signed out in " + minutesText(warningSeconds) + " without activity, so no one else " +
      "at this computer can open patients' records.";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary btn-sm";
    button.id = "idle-stay-signed-in";
    button.textContent = "Stay signed in";
    button.addEventListener("click", staySignedIn);
    box.appendChild(text);
    box.appendChild(button);
    body.appendChild(box);
    button.focus();
  }

  function signOut() {
    // A fresh GET of this page: the server signs the session out and answers with the login page.
    window.location.assign(window.location.href);
  }

  function schedule() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    hideWarning();
    warnTimer = window.setTimeout(showWarning, (idleSeconds - warningSeconds) * 1000);
    endTimer = window.setTimeout(signOut, (idleSeconds + 1) * 1000);
  }

  function staySignedIn() {
    fetch(keepAliveUrl, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual", // a session already signed out answers with a redirect to the login page
      headers: { "X-CSRFToken": csrfToken() },
    }).then(function (response) {
      if (response.ok) {
        schedule();
      } else {
        signOut();
      }
    }, signOut);
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (isBackground(event.detail.elt)) {
      event.detail.headers["X-Chairside-Background"] = "true";
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!isBackground(event.detail.elt)) {
      schedule();
    }
  });

  schedule();
})();
