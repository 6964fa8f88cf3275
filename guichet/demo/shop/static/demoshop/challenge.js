// Post the CReq into the challenge iframe as soon as the page is shown (the ACS waits 30 s at most).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("creq-form");
  if (form) { form.submit(); }
});
