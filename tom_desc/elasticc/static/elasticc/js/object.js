/* The object page's two plots: the light curve and classification probabilities over time.
   Data come from json_script elements the template writes; Plotly is served locally. */
(function () {
  "use strict";
  var BAND_COLOURS = { u: "#6f42c1", g: "#198754", r: "#dc3545", i: "#fd7e14", z: "#8b4513", Y: "#212529" };
  // The mode bar's camera saves the plot as a PNG (drawn locally: no request leaves the page).
  var CONFIG = { responsive: true, displaylogo: false };

  function config(filename) {
    return Object.assign({ toImageButtonOptions: { format: "png", filename: filename, scale: 2 } }, CONFIG);
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function colour(band) { return BAND_COLOURS[band] || "#6c757d"; }

  function drawLightCurve() {
    var target = document.getElementById("lightcurve");
    var data = readJson("lightcurve-data");
    if (!target || !data) { return; }
    var traces = [];
    Object.keys(data.forced).forEach(function (band) {
      var s = data.forced[band];
      traces.push({
        type: "scatter", mode: "markers", name: band + " forced", legendgroup: band,
        x: s.mjd, y: s.flux, error_y: { type: "data", array: s.err, visible: true, thickness: 1, width: 0, color: colour(band) },
        marker: { color: colour(band), size: 4, opacity: 0.55 },
        hovertemplate: "MJD %{x:.3f}<br>flux %{y:.1f} nJy<extra>" + band + " forced</extra>"
      });
    });
    Object.keys(data.detections).forEach(function (band) {
      var s = data.detections[band];
      traces.push({
        type: "scatter", mode: "markers", name: band + " detection", legendgroup: band,
        x: s.mjd, y: s.flux, customdata: s.id,
        error_y: { type: "data", array: s.err, visible: true, thickness: 1.5, width: 3, color: colour(band) },
        marker: { color: colour(band), size: 9, symbol: "circle", line: { color: "#000", width: 1 } },
        hovertemplate: "MJD %{x:.3f}<br>flux %{y:.1f} nJy<br>diaSource %{customdata}<extra>" + band + " detection</extra>"
      });
    });
    Plotly.newPlot(target, traces, {
      margin: { t: 10, r: 10, b: 50, l: 70 },
      xaxis: { title: { text: data.axes.x }, zeroline: false, tickformat: "~f" },
      yaxis: { title: { text: data.axes.y } },
      legend: { orientation: "h", y: -0.2 },
      hovermode: "closest"
    }, config(target.dataset.filename || "lightcurve"));
  }

  function drawClassifications() {
    var target = document.getElementById("classplot");
    var data = readJson("classplot-data");
    var select = document.getElementById("class-plot-classifier");
    if (!target || !data || !data.length) { return; }
    function show(index) {
      var classifier = data[index];
      var traces = classifier.traces.map(function (t) {
        return {
          type: "scatter", mode: "lines+markers", name: t.name, x: t.mjd, y: t.p,
          hovertemplate: "MJD %{x:.3f}<br>p = %{y:.3f}<extra>" + t.name + "</extra>"
        };
      });
      Plotly.react(target, traces, {
        margin: { t: 10, r: 10, b: 50, l: 60 },
        xaxis: { title: { text: "alert MJD" }, tickformat: "~f" },
        yaxis: { title: { text: "probability" }, range: [0, 1.02] },
        legend: { orientation: "v" },
        hovermode: "closest"
      }, config(target.dataset.filename || "classifications"));
    }
    show(0);
    if (select) { select.addEventListener("change", function () { show(parseInt(select.value, 10)); }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawLightCurve();
    drawClassifications();
  });
})();
