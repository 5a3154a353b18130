// The rates page's chart (ECharts from /static/vendor, no inline script: the CSP allows only
// /static). The numbers come from the page's data-chart attribute, the same as its table.
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("rates-chart");
  if (!el || !window.echarts) { return; }
  var data = JSON.parse(el.getAttribute("data-chart"));
  var colours = ["#a61b1b", "#e07b39", "#0a539e", "#1d6b35"];
  var chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    color: colours,
    // Rich-text tooltips are drawn on the canvas: no inline styles for the CSP to refuse.
    tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
    legend: { type: "scroll", top: 0 },
    grid: { left: 48, right: 16, top: 56, bottom: 32 },
    xAxis: { type: "category", data: data.labels },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: data.series.map(function (s, i) {
      return {
        name: s.name,
        type: "line",
        connectNulls: false,
        symbolSize: 8,
        lineStyle: { type: i % 2 ? "dashed" : "solid", width: 2 },
        data: s.values.map(function (v) { return v == null ? null : Number(v); })
      };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
