// Live pages refresh with htmx. When a refresh fails (the server restarts, the network drops), say so and keep the
// last good content; the next successful refresh clears the notice.
(function () {
  "use strict";
  function notice() { return document.getElementById("live-status"); }
  document.body.addEventListener("htmx:sendError", function () { var n = notice(); if (n) { n.hidden = false; } });
  document.body.addEventListener("htmx:responseError", function () { var n = notice(); if (n) { n.hidden = false; } });
  document.body.addEventListener("htmx:afterSwap", function () { var n = notice(); if (n) { n.hidden = true; } });
})();

// Watch-window countdowns: <span class="countdown" data-ends="ISO time"> counts down every second, on every page,
// including content an htmx refresh has just brought in.
(function () {
  "use strict";
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-ends]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.ends) - now) / 1000);
      if (isNaN(left)) { return; }
      if (left <= 0) { el.textContent = "window ended"; el.classList.add("is-over"); return; }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s) + " left";
    });
  }
  tick();
  setInterval(tick, 1000);
})();
