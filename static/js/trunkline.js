// Live pages refresh with htmx. When a refresh fails (the server restarts, the network drops), say so and keep the
// last good content; the next successful refresh clears the notice.
// A 4xx answer is not a lost connection: the toast says the answer's reason (a JSON error, or the error page's
// [data-error-message] or first paragraph) instead; network errors and 5xx keep the "can't reach" words.
(function () {
  "use strict";
  function notice() { return document.getElementById("live-status"); }
  function show(text, refused) {
    var n = notice();
    if (!n) { return; }
    if (!n.dataset.unreachable) { n.dataset.unreachable = n.textContent; }
    n.textContent = text || n.dataset.unreachable;
    n.classList.toggle("is-refused", !!refused);
    n.hidden = false;
  }
  function reason(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "", body = xhr.responseText || "";
    try {
      if (type.indexOf("json") !== -1) {
        var data = JSON.parse(body);
        return data.error || data.detail || data.message || "";
      }
      var doc = new DOMParser().parseFromString(body, "text/html");
      var el = doc.querySelector("[data-error-message]") || doc.querySelector("main p, .error, p");
      return el ? el.textContent.trim() : "";
    } catch (e) { return ""; }
  }
  document.body.addEventListener("htmx:sendError", function () { show("", false); });
  document.body.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.status < 500) {
      show(reason(xhr) || "Trunkline refused this (" + xhr.status + ").", true);
    } else {
      show("", false);
    }
  });
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

// Behaviour that would otherwise be inline script (the Content-Security-Policy allows none):
// - <input data-submit-on-change> submits its form when it changes (a checklist tick saves at once; htmx or not);
// - <a data-panel-close> inside a rollback panel empties the panel instead of leaving the page, and gives focus back
//   to the button that opened it (without JavaScript it is a plain link back).
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var input = e.target.closest && e.target.closest("[data-submit-on-change]");
    if (input && input.form) { input.form.requestSubmit(); }
  });
  document.addEventListener("click", function (e) {
    var close = e.target.closest && e.target.closest("[data-panel-close]");
    var panel = close && close.closest(".rollback-panel");
    if (!panel) { return; }
    e.preventDefault();
    var opener = panel.trnOpener;
    panel.innerHTML = "";
    if (opener && !document.contains(opener) && panel.trnOpenerUrl) {  // a live refresh replaced it meanwhile
      var form = document.querySelector('form[hx-get="' + panel.trnOpenerUrl + '"]');
      opener = form && form.querySelector("button");
    }
    if (opener) { opener.focus(); }
  });
})();

// A rollback panel opens at the top of its page, which on a phone (or a long on-call page) can be far from the
// "Roll back…" button pressed: bring it into view and move focus to its heading, so the person sees it open and a
// screen reader reads where they are.
(function () {
  "use strict";
  document.body.addEventListener("htmx:afterSwap", function (e) {
    var panel = e.detail.target;
    if (!panel || !panel.classList || !panel.classList.contains("rollback-panel") || !panel.firstElementChild) { return; }
    var source = e.detail.requestConfig && e.detail.requestConfig.elt;
    panel.trnOpener = source && (source.matches("button") ? source : source.querySelector("button"));
    panel.trnOpenerUrl = source && source.getAttribute("hx-get");
    var heading = panel.querySelector("h2, h1") || panel.firstElementChild;
    heading.setAttribute("tabindex", "-1");
    var top = panel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.6) { panel.scrollIntoView({ block: "start" }); }
    heading.focus({ preventScroll: true });
  });
})();

// A table wider than its card scrolls sideways inside it: that box gets a name and a place in the tab order, so
// it can be scrolled from the keyboard (only while it does scroll: on a wide screen it is not a tab stop).
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        var card = box.closest("section");
        var heading = (card && card.querySelector("h2")) || document.querySelector("h1");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", (heading ? heading.textContent.trim() : "Table") + " (scrolls sideways)");
        box.dataset.scrollRegion = "";
      } else if (!scrolls && box.hasAttribute("data-scroll-region")) {
        ["tabindex", "role", "aria-label", "data-scroll-region"].forEach(function (a) { box.removeAttribute(a); });
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
  document.body.addEventListener("htmx:afterSettle", mark);
})();

// A weekly report prints whole: every repository's releases, however they were folded on the screen.
(function () {
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.report-repo-details").forEach(function (d) { d.open = true; });
  });
})();
