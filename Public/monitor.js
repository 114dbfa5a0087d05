// Live updates for the training monitor. The page works without this script (it refreshes
// itself through <noscript>); with it, figures update in place and charts are redrawn from the
// server-rendered SVG, so there is one chart renderer.
(function () {
  "use strict";
  var monitor = document.getElementById("monitor");
  if (!monitor) return;
  var api = monitor.getAttribute("data-api");
  var step = parseInt(monitor.getAttribute("data-step"), 10) || 0;
  var total = parseInt(monitor.getAttribute("data-total"), 10) || 1;
  var progress = document.getElementById("job-progress");
  var busy = false;

  function set(name, text) {
    var nodes = document.querySelectorAll('[data-live="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = text;
  }

  function redrawCharts() {
    return fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["loss", "accuracy"].forEach(function (name) {
          var fresh = doc.querySelector('[data-chart="' + name + '"]');
          var current = document.querySelector('[data-chart="' + name + '"]');
          if (fresh && current) current.innerHTML = fresh.innerHTML;
        });
      });
  }

  function poll() {
    if (busy) return;
    busy = true;
    fetch(api + "?since=" + step, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var job = data.job;
        var metrics = data.metrics || [];
        if (metrics.length > 0) {
          var last = metrics[metrics.length - 1];
          step = last.step;
          set("latest-step", String(last.step));
          set("latest-epoch", String(last.epoch));
          set("latest-loss", last.loss.toFixed(4));
          set("latest-accuracy", (last.accuracy * 100).toFixed(1) + "%");
          var empty = document.querySelector('[data-live="no-metrics"]');
          if (empty) empty.parentNode.removeChild(empty);
        }
        total = job.total_steps || total;
        if (progress) progress.value = job.current_step;
        set("percent", Math.floor(job.progress * 100) + "%");
        set("step", String(job.current_step));
        set("epoch", String(job.current_step === 0 ? 0 : Math.min(job.epochs, Math.floor((job.current_step - 1) / (total / job.epochs)) + 1)));
        if (job.status !== "running") {
          // The job ended: show its final state, actions and charts.
          location.reload();
          return;
        }
        if (metrics.length > 0) return redrawCharts();
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () { busy = false; });
  }

  setInterval(poll, 2000);
})();
