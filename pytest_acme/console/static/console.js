/* pytest-acme console: keep the page's live parts up to date.
 *
 * Every few moments (the body's data-refresh, in milliseconds) the page fetches
 * itself and swaps in each element marked data-live whose content changed. Forms
 * are outside those elements, so polling never wipes what a person types.
 * Plain JavaScript, no library; the Content-Security-Policy allows this file only.
 */
(function () {
  "use strict";
  var every = parseInt(document.body.getAttribute("data-refresh"), 10) || 1000;
  var status = document.getElementById("live-status");

  function say(text, bad) {
    if (status && status.textContent !== text) {
      status.textContent = text;
      status.className = bad ? "live-status stale" : "live-status";
    }
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var parts = document.querySelectorAll("[data-live]");
    for (var i = 0; i < parts.length; i++) {
      var now = fresh.getElementById(parts[i].id);
      if (now && now.innerHTML !== parts[i].innerHTML) {
        parts[i].innerHTML = now.innerHTML;
      }
    }
  }

  function poll() {
    fetch(window.location.href, {credentials: "same-origin", cache: "no-store",
                                 headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (response.status === 404) {
          say("This is gone from the server (was it reset?)", true);
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) {
          swap(html);
          say("Live", false);
        }
      })
      .catch(function () { say("Not connected to the server; retrying", true); })
      .then(function () { window.setTimeout(poll, every); });
  }

  if (document.querySelector("[data-live]")) {
    window.setTimeout(poll, every);
  }
}());
