// The alerts-per-MJD bar chart at the end of the summary page (_alerts_per_mjd_script.html); its
// rows are the JSON of #alerts-per-mjd-data. A file, not an inline script: the site's
// Content-Security-Policy runs scripts from /static/ only.
document.addEventListener("DOMContentLoaded", function () {
  var rows = JSON.parse(document.getElementById("alerts-per-mjd-data").textContent);
  // whole days on the axis: a tick every day, or every few days over a long campaign
  var span = rows[rows.length - 1][0] - rows[0][0];
  var dtick = Math.max(1, Math.ceil(span / 12));
  Plotly.newPlot("alerts-per-mjd", [{type: "bar", x: rows.map(function (r) { return r[0]; }),
    y: rows.map(function (r) { return r[1]; }), marker: {color: "#198754"},
    hovertemplate: "MJD %{x}: %{y} alerts<extra></extra>"}],
    {margin: {t: 10, r: 10, b: 50, l: 70}, xaxis: {title: {text: "simulated day (MJD)"}, tickformat: "d", dtick: dtick, exponentformat: "none"},
     yaxis: {title: {text: "alerts sent"}}}, {responsive: true, displaylogo: false});
});
