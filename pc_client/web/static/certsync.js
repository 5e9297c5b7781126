/* The customer's page: the little it needs that HTML cannot do. No inline script anywhere
   (the page's Content-Security-Policy forbids it); every sentence is in the HTML, from the
   catalogue, so nothing here is in a language.

   1. 現在時間 ticks: the server wrote the time and its moment (data-epoch-ms); this redraws
      it every second in the same form as sync_client.display.show_time — ROC year in
      Asia/Taipei (UTC+8 all year, no daylight saving since 1979) for zh-TW, the PC's own
      zone with its offset in English.
   2. 「系統進行憑證資料處理中，請稍後」 shows while a form marked data-busy is sent.
   3. 憑證上傳手機: the time left counts down, /pair/state is asked every few seconds, and the
      page turns to its result by itself once the slot has ended. */
(function () {
  "use strict";

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function rocText(ms) {
    var d = new Date(ms + 8 * 3600 * 1000);
    return (d.getUTCFullYear() - 1911) + "/" + pad(d.getUTCMonth() + 1) + "/" +
      pad(d.getUTCDate()) + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" +
      pad(d.getUTCSeconds());
  }

  function localText(ms) {
    var d = new Date(ms);
    var offset = -d.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + " " +
      sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60);
  }

  function startClock() {
    var clock = document.getElementById("clock");
    if (!clock) {
      return;
    }
    var base = Number(clock.dataset.epochMs);
    var started = performance.now();
    var format = clock.dataset.style === "roc" ? rocText : localText;
    function tick() {
      var ms = base + (performance.now() - started);
      clock.textContent = format(ms);
      clock.setAttribute("datetime", new Date(ms).toISOString());
      window.setTimeout(tick, 1000 - (ms % 1000) + 10);
    }
    tick();
  }

  function busy(show) {
    var overlay = document.getElementById("busy");
    if (overlay) {
      overlay.hidden = !show;
    }
    document.querySelectorAll("form[data-busy] button[type=submit]").forEach(function (b) {
      b.disabled = show;
    });
  }

  function busyOnSubmit() {
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        // After the form data is taken: a disabled button is not sent (ours have no name).
        window.setTimeout(function () { busy(true); }, 0);
      });
    });
    // Back to a page from the browser's cache: it is not busy any more.
    window.addEventListener("pageshow", function () { busy(false); });
  }

  function countdownText(seconds) {
    return Math.floor(seconds / 60) + ":" + pad(seconds % 60);
  }

  function watchPairing() {
    var section = document.getElementById("pairing");
    if (!section) {
      return;
    }
    var every = Number(section.dataset.pollMs) || 1500;
    var left = Number(section.dataset.secondsLeft);
    var since = performance.now();
    var shown = document.getElementById("seconds-left");
    function redraw() {
      var now = Math.max(0, Math.ceil(left - (performance.now() - since) / 1000));
      shown.textContent = countdownText(now);
    }
    window.setInterval(redraw, 1000);
    function poll() {
      fetch("/pair/state", { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (state.ended) {
            window.location.replace("/pair/wait");
            return;
          }
          left = state.seconds_left;
          since = performance.now();
          redraw();
          window.setTimeout(poll, every);
        })
        .catch(function () { window.setTimeout(poll, every); });
    }
    window.setTimeout(poll, every);
  }

  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    startClock();
    busyOnSubmit();
    watchPairing();
    focusErrors();
  });
})();
