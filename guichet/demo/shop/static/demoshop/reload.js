// The order page while the bank's result (RReq) is awaited: shown again after the delay of the element
// marked data-reload-after="<seconds>" (a script from 'self', as the CSP requires).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var waiting = document.querySelector("[data-reload-after]");
  if (!waiting) { return; }
  var delay = parseFloat(waiting.getAttribute("data-reload-after"));
  window.setTimeout(function () { window.location.reload(); }, (delay > 0 ? delay : 0) * 1000);
});
