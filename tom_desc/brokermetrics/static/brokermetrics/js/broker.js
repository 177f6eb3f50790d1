/* The broker page's delay histogram (data from the delay-data json_script element). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var target = document.getElementById("delay-histogram");
    var el = document.getElementById("delay-data");
    if (!target || !el) { return; }
    var bins = JSON.parse(el.textContent);
    Plotly.newPlot(target, [{
      type: "bar", x: bins.map(function (b) { return b.label; }), y: bins.map(function (b) { return b.count; }),
      marker: { color: "#0d6efd" }, hovertemplate: "%{x}: %{y} alerts<extra></extra>"
    }], {
      margin: { t: 10, r: 10, b: 80, l: 70 },
      xaxis: { title: { text: "delay (alert sent → message stored)" }, type: "category" },
      yaxis: { title: { text: "classified alerts" } }
    }, { responsive: true, displaylogo: false });
  });
})();
