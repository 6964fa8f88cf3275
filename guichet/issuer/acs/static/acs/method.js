/* The 3DS Method page's only script (served from 'self', as the page's CSP requires).
 * Reads what any site can read of the browser (screen, colour depth, time zone, languages), posts it
 * to this server with the page's single-use token, then posts threeDSMethodData back to the
 * requestor's notification URL. The requestor gives up after 10 seconds: the post back never waits
 * more than 3 for the first post. */
(function () {
  "use strict";
  var WAIT_MS = 3000;

  function traits(form) {
    var body = new URLSearchParams();
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    var languages = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    body.set("threeDSServerTransID", form.getAttribute("data-trans"));
    body.set("token", form.getAttribute("data-token"));
    body.set("screenWidth", String(window.screen.width || 0));
    body.set("screenHeight", String(window.screen.height || 0));
    body.set("colorDepth", String(window.screen.colorDepth || 0));
    body.set("tzOffset", String(new Date().getTimezoneOffset()));
    body.set("tzName", zone);
    body.set("languages", Array.prototype.slice.call(languages, 0, 10).join(","));
    return body;
  }

  function ready() {
    var form = document.getElementById("acs-method");
    if (!form) { return; }
    var done = false;
    function notify() {
      if (done) { return; }
      done = true;
      form.submit();
    }
    if (!form.getAttribute("data-token") || !window.fetch) { notify(); return; }
    var timer = window.setTimeout(notify, WAIT_MS);
    // The device cookie (HttpOnly, this origin's) goes with it where the browser allows it.
    window.fetch(form.getAttribute("data-collect"), {
      method: "POST", body: traits(form), credentials: "same-origin", cache: "no-store"
    }).catch(function () { return null; }).then(function () {
      window.clearTimeout(timer);
      notify();
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
