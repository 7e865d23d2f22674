// Live pages refresh with htmx. When a refresh fails (the server restarts, the network drops), say so and keep the
// last good content; the next successful refresh clears the notice.
(function () {
  "use strict";
  function notice() { return document.getElementById("live-status"); }
  document.body.addEventListener("htmx:sendError", function () { var n = notice(); if (n) { n.hidden = false; } });
  document.body.addEventListener("htmx:responseError", function () { var n = notice(); if (n) { n.hidden = false; } });
  document.body.addEventListener("htmx:afterSwap", function () { var n = notice(); if (n) { n.hidden = true; } });
})();
