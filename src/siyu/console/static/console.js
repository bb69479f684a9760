/* siyu console: charts from JSON embedded in the page (built server-side with |tojson), and the few behaviours
   that would otherwise be inline handlers — the Content-Security-Policy allows scripts from /static only. */
(function () {
  "use strict";
  // <select data-autosubmit>: submit its form on change (the calendar's community / group filter).
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });
  // <a data-back>: go back when there is somewhere to go back to, else follow the link.
  document.addEventListener("click", function (e) {
    var el = e.target && e.target.closest ? e.target.closest("a[data-back]") : null;
    if (el && window.history.length > 1) { e.preventDefault(); window.history.back(); }
  });
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
