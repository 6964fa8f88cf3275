/* The portal's only script (served from 'self', as the CSP requires); every page works without it.
 * - a field marked data-match-with="<id>" turns green and says its data-active word ("actif") while
 *   it repeats that field's 4-digit password (docs/issuers.md, portal step 4); the server still checks both;
 * - a message's close button (hidden until this script runs) removes the message. */
(function () {
  "use strict";
  var EPIN = /^[0-9]{4}$/;

  function watchMatch(field) {
    var input = field.querySelector("input");
    var other = document.getElementById(field.getAttribute("data-match-with"));
    var state = field.querySelector(".match-state");
    if (!input || !other || !state) { return; }
    function update() {
      var match = EPIN.test(other.value) && input.value === other.value;
      field.classList.toggle("match", match);
      state.textContent = match ? state.getAttribute("data-active") : "";
    }
    input.addEventListener("input", update);
    other.addEventListener("input", update);
    update();
  }

  function closable(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var message = button.closest(".message");
      var list = message && message.parentElement;
      if (!message) { return; }
      message.remove();
      if (list && !list.querySelector(".message")) { list.remove(); }
      // The focus was on the removed button: put it back at the start of the page's content.
      var main = document.querySelector("main");
      if (main) {
        main.setAttribute("tabindex", "-1");
        main.focus();
      }
    });
  }

  function ready() {
    document.querySelectorAll("[data-match-with]").forEach(watchMatch);
    document.querySelectorAll(".message-close").forEach(closable);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
