/* The end page's return to the merchant: the link marked data-return-after="<seconds>" is followed
 * after that delay (served from 'self', as the CSP requires; the link stays for browsers without
 * JavaScript). The page is replaced, so that "back" from the merchant does not return here again. */
(function () {
  "use strict";
  function ready() {
    var link = document.querySelector("a[data-return-after]");
    if (!link) { return; }
    var delay = parseFloat(link.getAttribute("data-return-after"));
    window.setTimeout(function () { window.location.replace(link.href); }, (delay > 0 ? delay : 0) * 1000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
