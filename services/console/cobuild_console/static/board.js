// The public board's chart (ECharts from /static/vendor; no inline script: the CSP allows only
// /static). The numbers are the page's data-chart attribute, the same as the table beside it,
// which says everything without this script. Sizes and colours follow the page's own (the
// large-type and high-contrast modes), and the chart is as wide as its column: never wider
// than the screen.
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("board-chart");
  if (!el || !window.echarts) { return; }
  var data = JSON.parse(el.getAttribute("data-chart"));
  var style = window.getComputedStyle(document.body);
  var root = window.getComputedStyle(document.documentElement);
  var font = parseFloat(style.fontSize) || 18;
  var ink = style.color;
  var bar = root.getPropertyValue("--bar").trim() || "#a61b1b";
  var line = root.getPropertyValue("--line").trim() || "#8a8a8a";
  var row = Math.round(font * 2.4);
  el.classList.add("b-drawn");  // shown from now on (empty, with no script, it takes no room)
  el.style.height = (data.labels.length * row + font * 2) + "px";
  var chart = window.echarts.init(el, null, { renderer: "canvas" });
  function labelWidth() {  // the names' column: at most about a third of a phone's width
    return Math.max(font * 4, Math.min(font * 9, el.clientWidth * 0.36));
  }
  function options() {
    var plot = el.clientWidth - labelWidth() - font * 3.9;
    return {
      animation: false,
      aria: { enabled: false },  // the container's role="img" and label describe it
      tooltip: { show: false },  // nothing pops up: each bar says its figure
      textStyle: { fontSize: font, color: ink },
      grid: { left: labelWidth() + font * 0.5, right: font * 3.4, top: font * 0.5, bottom: plot > font * 11 ? font * 2 : font * 0.5 },
      xAxis: {
        type: "value", min: 0, max: 100, interval: 25,
        // Too narrow for the scale's figures (each bar says its own): no scale labels.
        axisLabel: { show: plot > font * 11, formatter: "{value}%", color: ink, fontSize: font * 0.75 },
        splitLine: { lineStyle: { color: line } }
      },
      yAxis: {
        type: "category", inverse: true, data: data.labels,
        axisLabel: { width: labelWidth(), overflow: "break", color: ink, fontSize: font * 0.85, lineHeight: font * 1.1 },
        axisLine: { lineStyle: { color: ink } }, axisTick: { show: false }
      },
      series: [{
        name: data.series, type: "bar", barMaxWidth: font * 1.4, itemStyle: { color: bar },
        label: {
          show: true, position: "right", color: ink, fontSize: font * 0.85,
          formatter: function (p) {
            var v = data.values[p.dataIndex];
            return v == null ? data.empty : v + "%";
          }
        },
        data: data.values.map(function (v) { return v == null ? 0 : Number(v); })
      }]
    };
  }
  chart.setOption(options());
  window.addEventListener("resize", function () { chart.resize(); chart.setOption(options()); });
});
