// Draws the dashboard's charts from the JSON the page carries; the tables show the same
// numbers, so without JavaScript (or Chart.js) nothing is lost.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var charts = JSON.parse(source.textContent);
  var colours = ["#0d6efd", "#198754", "#dc3545", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"];
  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = charts[canvas.dataset.chart];
    if (!spec) {
      return;
    }
    var round = spec.type === "doughnut";
    new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data,
            borderColor: round ? "#fff" : colours[index % colours.length],
            backgroundColor: round ? colours : colours[index % colours.length],
            tension: 0.2,
          };
        }),
      },
      options: {
        animation: reducedMotion ? false : undefined,
        plugins: { legend: { display: spec.series.length > 1 || round } },
        scales: round ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  });
})();
