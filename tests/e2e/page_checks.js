// Loaded into every page of the page-wide browser tests before the page's own scripts (a Playwright init script,
// which the Content-Security-Policy does not apply to). It records CSP violations as they happen and offers the
// checks the tests run: page width, focus-ring contrast, and axe-core (loaded the same way, from tests/e2e/vendor).
(function () {
  "use strict";
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", function (e) {
    window.__cspViolations.push(
      e.effectiveDirective + " refused " + (e.blockedURI || "?") + " (" + (e.sourceFile || "page") + ":" + e.lineNumber + ")" +
      (e.sample ? " " + e.sample : "")
    );
  });
  // A live refresh arriving while axe reads the page would make a run flaky: a test can hold them (the refreshed
  // content is the same markup, checked on load).
  document.addEventListener("htmx:beforeRequest", function (e) {
    var trigger = (e.detail.elt && e.detail.elt.getAttribute("hx-trigger")) || "";
    if (window.__holdRefreshes && trigger.indexOf("every") !== -1) { e.preventDefault(); }
  });

  function parse(color) {
    var m = /rgba?\(([^)]+)\)/.exec(color || "");
    if (!m) { return null; }
    var p = m[1].split(/[ ,/]+/).filter(Boolean).map(parseFloat);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function over(top, bottom) {
    var a = top.a;
    return { r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a), b: top.b * a + bottom.b * (1 - a), a: 1 };
  }
  function luminance(c) {
    function ch(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  }
  function contrast(x, y) {
    var a = luminance(x), b = luminance(y);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  // The colour an element sits on: the backgrounds of its ancestors, blended down to the first opaque one.
  function backgroundOf(el) {
    var layers = [];
    for (var node = el; node && node.nodeType === 1; node = node.parentElement) {
      var c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) { break; } }
    }
    var color = { r: 255, g: 255, b: 255, a: 1 };  // the canvas
    for (var i = layers.length - 1; i >= 0; i--) { color = over(layers[i], color); }
    return color;
  }
  function describe(el) {
    var text = (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") +
      (text ? " “" + text + "”" : "");
  }
  function clipped(el) {
    for (var node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      var o = getComputedStyle(node).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") { return true; }
    }
    return false;
  }

  window.__pageChecks = {
    // The page is no wider than the window; and which elements stick out (those not inside a scrolling box).
    width: function () {
      var root = document.documentElement, limit = root.clientWidth;
      var wide = [];
      document.querySelectorAll("body *").forEach(function (el) {
        var r = el.getBoundingClientRect();
        if (r.width && r.right > limit + 1 && !clipped(el)) { wide.push(describe(el) + " to " + Math.round(r.right) + "px"); }
      });
      return { scrollWidth: root.scrollWidth, clientWidth: limit, wide: wide.slice(0, 8) };
    },
    // Every focusable element, focused by keyboard (the test presses Tab first, so focus is "visible"): its
    // outline is drawn and reaches 3:1 against what it is drawn on (outside the element: its parent's background).
    focusRings: function () {
      var selector = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled])," +
        " textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";
      var problems = {};
      document.querySelectorAll(selector).forEach(function (el) {
        if (!el.getClientRects().length) { return; }
        el.focus({ preventScroll: true });
        if (document.activeElement !== el || !el.matches(":focus-visible")) { return; }
        var cs = getComputedStyle(el);
        var problem = "";
        if (cs.outlineStyle === "none" || parseFloat(cs.outlineWidth) < 2) {
          problem = "no focus ring (" + cs.outlineStyle + " " + cs.outlineWidth + ")";
        } else {
          var ring = parse(cs.outlineColor);
          var behind = backgroundOf(parseFloat(cs.outlineOffset) >= 0 ? el.parentElement : el);
          var ratio = ring ? contrast(over(ring, behind), behind) : 0;
          if (ratio < 3) { problem = "focus ring " + cs.outlineColor + " is " + ratio.toFixed(2) + ":1 on its background"; }
        }
        if (problem) { problems[problem + ": " + describe(el)] = true; }
      });
      if (document.activeElement) { document.activeElement.blur(); }
      return Object.keys(problems).slice(0, 10);
    },
    contrast: contrast,
    backgroundOf: backgroundOf,
    parse: parse,
    // axe-core's WCAG 2.0 and 2.1, A and AA rules.
    axe: function () {
      return window.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        resultTypes: ["violations"],
      }).then(function (results) {
        return results.violations.map(function (v) {
          return v.id + " (" + v.nodes.length + "): " + v.help + " — " + v.nodes.slice(0, 3).map(function (n) {
            return n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 160);
          }).join(" | ");
        });
      });
    },
  };
})();
