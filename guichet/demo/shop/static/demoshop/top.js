// The challenge ended inside the iframe: show the order's result in the whole window.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var link = document.getElementById("back-to-shop");
  if (link) { window.top.location.href = link.href; }
});
