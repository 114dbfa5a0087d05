// Live updates for the training monitor. The page works without this script (it reloads itself
// through <noscript>); with it, the figures and charts are replaced in place from
// /training/jobs/{id}/live, which sends them already formatted and drawn by the server, so
// nothing is computed twice and the page is never downloaded again.
(function () {
  "use strict";
  var monitor = document.getElementById("monitor");
  if (!monitor) return;
  var source = monitor.getAttribute("data-live-src");
  var progress = document.getElementById("job-progress");
  var busy = false;

  function apply(data) {
    var values = data.values || {};
    Object.keys(values).forEach(function (name) {
      var nodes = document.querySelectorAll('[data-live="' + name + '"]');
      for (var i = 0; i < nodes.length; i++) nodes[i].textContent = values[name];
    });
    var charts = data.charts || {};
    Object.keys(charts).forEach(function (name) {
      var frame = document.querySelector('[data-chart="' + name + '"]');
      if (frame) frame.innerHTML = charts[name];
    });
    if (progress) progress.value = data.current_step;
    monitor.setAttribute("data-step", String(data.current_step));
    if (data.current_step > 0) {
      var empty = document.querySelector("[data-live-empty]");
      if (empty) empty.parentNode.removeChild(empty);
    }
  }

  function poll() {
    if (busy) return;
    busy = true;
    fetch(source, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var keys = (data.keys || []).join("\n");
        if (data.status !== "running" || keys !== monitor.getAttribute("data-keys")) {
          // The job ended (its final state brings other actions) or logged a new metric key
          // (which needs a chart frame): load the page once.
          location.reload();
          return;
        }
        apply(data);
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () { busy = false; });
  }

  setInterval(poll, 2000);
})();
