/* siyu console, the operator's pages: charts drawn from JSON the server embedded (|tojson, never inline script:
   the Content-Security-Policy allows scripts from /static only), and "tick every row" for bulk tagging.

   A chart is <div class="chart" id="X" data-chart></div> with <script type="application/json" id="X-data">
   {"x": [...labels], "series": [{"name": "...", "data": [...], "type": "bar" | "line", "stack": "s",
   "color": "#..."}], "percent": false}</script>. Charts are sized for a 390 px phone first: labels inside the
   grid, the legend on top, axis labels that thin out instead of overlapping. */
(function () {
  "use strict";
  var PALETTE = ["#1a7f5a", "#d9534f", "#0b63a8", "#c98a00", "#7a4fb8", "#4b5563"];

  function drawCharts() {
    if (!window.echarts) return;
    var nodes = document.querySelectorAll("[data-chart]");
    var charts = [];
    Array.prototype.forEach.call(nodes, function (el) {
      var src = document.getElementById(el.id + "-data");
      if (!src) return;
      var spec = JSON.parse(src.textContent);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var narrow = el.clientWidth < 480;
      chart.setOption({
        animation: false,
        color: PALETTE,
        grid: { left: 8, right: 24, top: spec.series.length > 1 ? 36 : 16, bottom: 8, containLabel: true },
        legend: spec.series.length > 1 ? { top: 0, left: 0, itemWidth: 14, itemHeight: 8,
                                             textStyle: { fontSize: narrow ? 11 : 12 } } : undefined,
        tooltip: { trigger: "axis", confine: true,
                   valueFormatter: spec.percent ? function (v) { return v == null ? "—" : v + "%"; } : undefined },
        xAxis: { type: "category", data: spec.x, boundaryGap: spec.series.some(function (s) { return s.type === "bar"; }),
                 axisLabel: { hideOverlap: true, fontSize: narrow ? 10 : 12 } },
        yAxis: { type: "value", minInterval: 1, max: spec.percent ? 100 : null,
                 axisLabel: { fontSize: narrow ? 10 : 12, formatter: spec.percent ? "{value}%" : "{value}" } },
        series: spec.series.map(function (s) {
          var out = { name: s.name, type: s.type || "line", data: s.data, symbolSize: 4, barMaxWidth: 18 };
          if (s.stack) out.stack = s.stack;
          if (s.color) out.itemStyle = { color: s.color };
          if (out.type === "line" && s.area) out.areaStyle = { opacity: 0.12 };
          return out;
        })
      });
      charts.push(chart);
    });
    if (charts.length) {
      window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    }
  }

  // <input type="checkbox" data-check-all="FORM">: tick or untick every row checkbox of that form on the page.
  function countTicked(formId) {
    var n = document.querySelectorAll('input[type=checkbox][form="' + formId + '"]:checked').length;
    Array.prototype.forEach.call(document.querySelectorAll("#" + formId + " [data-selected-count]"),
                                 function (el) { el.textContent = String(n); });
  }
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!el || !el.matches) return;
    if (el.matches("input[data-check-all]")) {
      var formId = el.getAttribute("data-check-all");
      Array.prototype.forEach.call(document.querySelectorAll('input[type=checkbox][form="' + formId + '"]'),
                                   function (box) { box.checked = el.checked; });
      countTicked(formId);
    } else if (el.matches("input[type=checkbox][form]")) {
      countTicked(el.getAttribute("form"));
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawCharts);
  else drawCharts();
})();
