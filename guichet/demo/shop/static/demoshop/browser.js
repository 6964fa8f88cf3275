// The 3DS browser elements a 3DS Server collects (EMV 3DS 2.2.0: colour depth, screen, time zone),
// and the 3DS Method it runs in a hidden iframe before the AReq.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The 3DS Method: threeDSMethodData into the hidden iframe, on the bank's threeDSMethodURL.
  var method = document.getElementById("method-form");
  if (method) { method.submit(); }
  var form = document.getElementById("card-form");
  if (!form) { return; }
  var depths = [48, 32, 24, 16, 15, 8, 4, 1];
  var depth = depths.find(function (d) { return d <= (screen.colorDepth || 24); }) || 1;
  var values = {
    js: "1",
    color_depth: String(depth),
    screen_height: String(Math.min(screen.height || 0, 999999)),
    screen_width: String(Math.min(screen.width || 0, 999999)),
    tz: String(new Date().getTimezoneOffset()),
  };
  Object.keys(values).forEach(function (name) {
    var input = form.elements.namedItem(name);
    if (input) { input.value = values[name]; }
  });
});
