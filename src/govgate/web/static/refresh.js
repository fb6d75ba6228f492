/* govgate dashboard: reload the page when the state it shows changes.
 *
 * Each <meta name="govgate-watch"> names a JSON twin (data-url), the fields to
 * watch in it (data-fields, dotted paths) and their values when the page was
 * made (data-value, JSON). Every few seconds the twin is fetched again from
 * this same server; when the values differ, the page reloads. Served by the
 * package itself: no CDN, no request to anything but this dashboard.
 */
(function () {
  "use strict";
  var watches = document.querySelectorAll('meta[name="govgate-watch"]');
  if (!watches.length || !window.fetch) { return; }
  var seconds = Number(document.body.getAttribute("data-poll-seconds")) || 5;

  function pick(data, path) {
    var parts = path.split(".");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      if (data !== null && typeof data === "object" && !Array.isArray(data)) {
        data = Object.prototype.hasOwnProperty.call(data, part) ? data[part] : null;
      } else if (Array.isArray(data) && /^-?\d+$/.test(part) && data.length) {
        var n = parseInt(part, 10);
        data = (n >= -data.length && n < data.length) ? data[n < 0 ? data.length + n : n] : null;
      } else {
        return null;
      }
      if (data === undefined) { data = null; }
    }
    return data;
  }

  function current(meta) {
    var fields = meta.getAttribute("data-fields").split(",");
    return fetch(meta.getAttribute("data-url"), {cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.status === 503) { return "unavailable"; }
        if (!response.ok) { return null; }
        return response.json().then(function (data) {
          return JSON.stringify(fields.map(function (f) { return pick(data, f); }));
        });
      });
  }

  function check() {
    var pending = Array.prototype.map.call(watches, function (meta) {
      return current(meta).then(function (now) {
        return now !== null && now !== meta.getAttribute("data-value");
      }, function () { return false; });  /* server away: keep the page, try again */
    });
    Promise.all(pending).then(function (changed) {
      if (changed.indexOf(true) >= 0) { window.location.reload(); }
      else { window.setTimeout(check, seconds * 1000); }
    });
  }

  window.setTimeout(check, seconds * 1000);
})();
