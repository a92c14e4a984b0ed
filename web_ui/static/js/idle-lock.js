/* Shopfloor idle lock (ours, not vendored; no build step).
 *
 * A page whose <body> has data-idle-lock-ms="N" locks after N ms without input: a
 * key (a keyboard-wedge scanner types too), a pointer, a touch, or a live event over
 * SSE (`htmx:sseMessage`: a serial scanner's scans reach the page that way). Locking
 * ends the session first (POST /logout with the page's CSRF token) and then opens
 * /login?idle=1&next=<this page>: Back or a reload must not bring the till back, and
 * the page's own polling must not keep its session alive for ever.
 *
 * Activity is shared between the tabs of one browser (localStorage), so a tab left
 * open in the back does not log out the one in use.
 */
(function () {
  "use strict";

  var body = document.body;
  var idleMs = body ? parseInt(body.getAttribute("data-idle-lock-ms") || "", 10) : NaN;
  if (!(idleMs > 0) || window.location.pathname.indexOf("/login") === 0) {
    return;
  }

  var KEY = "shopfloor.lastActivityMs";
  var ACTIVITY = ["keydown", "pointerdown", "pointermove", "touchstart", "wheel"];
  var last = Date.now();
  var written = 0;
  var locked = false;

  function shared() {
    try {
      var seen = parseInt(window.localStorage.getItem(KEY) || "", 10);
      return seen > 0 ? seen : 0;
    } catch (e) {
      return 0; // storage refused (private mode): this tab alone decides
    }
  }

  function active() {
    last = Date.now();
    if (last - written < 1000) {
      return; // a moving pointer fires often: tell the other tabs once a second
    }
    written = last;
    try {
      window.localStorage.setItem(KEY, String(last));
    } catch (e) {
      /* this tab still counts it */
    }
  }

  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function lock() {
    locked = true;
    var here = window.location.pathname + window.location.search;
    var target = "/login?idle=1&next=" + encodeURIComponent(here);
    var go = function () {
      window.location.assign(target);
    };
    if (!window.fetch) {
      go();
      return;
    }
    window
      .fetch("/logout", {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        keepalive: true,
        headers: { "X-CSRF-Token": csrfToken() },
      })
      .then(go, go);
  }

  function check() {
    if (locked) {
      return;
    }
    if (Date.now() - Math.max(last, shared()) >= idleMs) {
      lock();
    }
  }

  // While locking, the page's own htmx polling must not run: after the logout it would
  // be answered with HX-Redirect to a plain /login and lose the "locked when idle" word.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (locked) {
      event.preventDefault();
    }
  });

  ACTIVITY.forEach(function (name) {
    document.addEventListener(name, active, { capture: true, passive: true });
  });
  document.addEventListener("htmx:sseMessage", active); // htmx events bubble
  document.addEventListener("visibilitychange", check); // a tab woken from sleep
  window.setInterval(check, Math.min(1000, Math.max(100, Math.floor(idleMs / 10))));
  active();
})();
