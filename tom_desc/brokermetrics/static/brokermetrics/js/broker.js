/* The broker page's completeness per day and delay histogram (data from json_script elements), and its
   selects that show the chosen classifier or window at once (here, not in onchange attributes:
   the site's Content-Security-Policy runs no inline script). */
(function () {
  "use strict";

  /* Completeness (%) per UTC send-day: one point a day, hover gives the counts behind it. */
  function drawCompletenessPerDay() {
    var target = document.getElementById("completeness-per-day");
    var el = document.getElementById("completeness-data");
    if (!target || !el) { return; }
    var days = JSON.parse(el.textContent);
    Plotly.newPlot(target, [{
      type: "scatter", mode: "lines+markers",
      x: days.map(function (d) { return d.day; }), y: days.map(function (d) { return d.percent; }),
      customdata: days.map(function (d) { return [d.classified, d.sent]; }),
      marker: { color: "#198754" },
      hovertemplate: "%{x}: %{y:.1f} %<br>%{customdata[0]} of %{customdata[1]} alerts<extra></extra>"
    }], {
      margin: { t: 10, r: 10, b: 50, l: 70 },
      xaxis: { title: { text: "day the alerts were sent (UTC)" }, type: "date" },
      yaxis: { title: { text: "completeness [%]" }, range: [0, 105] }
    }, { responsive: true, displaylogo: false,
         toImageButtonOptions: { format: "png", filename: target.dataset.filename || "completeness" } });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    drawCompletenessPerDay();
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
