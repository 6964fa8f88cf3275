/* The challenge pages' only script (served from 'self', as the CSP requires).
 * - a form marked data-autosubmit="<ms>" is posted after that delay (the final CRes);
 * - a form marked data-status="<url>" (the progress page at the end of the challenge) asks that URL
 *   every 300 ms and is posted once it answers {"ready": true} (the DS's RRes is in, or the wait is
 *   over), or at the latest a second after data-wait="<ms>" whatever it answered: the server decides
 *   again, and gives this page back if it is not yet time;
 * - the step form shows "Authentication in progress" once validated. */
(function () {
  "use strict";
  var POLL_MS = 300;
  function waitThenPost(form) {
    var url = form.getAttribute("data-status");
    var until = Date.now() + (parseInt(form.getAttribute("data-wait"), 10) || 0) + 1000;
    var posted = false;
    function post() {
      if (!posted) { posted = true; form.submit(); }
    }
    function later() { window.setTimeout(ask, POLL_MS); }
    function ask() {
      if (Date.now() >= until) { post(); return; }
      window.fetch(url, { cache: "no-store", credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : { ready: false }; })
        .then(function (status) { if (status && status.ready === true) { post(); } else { later(); } },
              later);
    }
    later();
  }
  function ready() {
    var auto = document.querySelector("form[data-autosubmit]");
    if (auto) {
      var delay = parseInt(auto.getAttribute("data-autosubmit"), 10) || 0;
      window.setTimeout(function () { auto.submit(); }, delay);
    }
    var waiting = document.querySelector("form[data-status]");
    if (waiting) { waitThenPost(waiting); }
    var form = document.querySelector("form[data-progress]");
    if (form) {
      form.addEventListener("submit", function (event) {
        var submitter = event.submitter;
        if (submitter && submitter.value === "cancel") { return; }
        var panel = document.getElementById(form.getAttribute("data-progress"));
        if (panel) { panel.hidden = false; }
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
