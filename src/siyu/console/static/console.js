/* siyu console: charts from JSON embedded in the page (built server-side with |tojson). */
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("events-chart");
    var src = document.getElementById("events-chart-data");
    if (!el || !src || !window.echarts) return;
    var data = JSON.parse(src.textContent);
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 16, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.days, boundaryGap: false },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: data.name, type: "line", data: data.counts, smooth: false, symbolSize: 4,
                 areaStyle: { opacity: 0.12 }, itemStyle: { color: "#1a7f5a" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
