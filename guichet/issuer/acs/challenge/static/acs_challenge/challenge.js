/* The challenge pages' only script (served from 'self', as the CSP requires).
 * - a form marked data-autosubmit="<ms>" is posted after that delay (the final CRes, the progress page);
 * - the step form shows "Authentication in progress" once validated. */
(function () {
  "use strict";
  function ready() {
    var auto = document.querySelector("form[data-autosubmit]");
    if (auto) {
      var delay = parseInt(auto.getAttribute("data-autosubmit"), 10) || 0;
      window.setTimeout(function () { auto.submit(); }, delay);
    }
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
