// 蜀联·报表看板: fetches the figures with the bearer token the URL fragment carries (#token=…;
// a fragment never reaches the server or its logs) and draws them with the vendored ECharts.
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  var token = hash.get("token") || "";
  var year = params.get("year") || String(new Date().getFullYear());
  var scope = params.get("scope") || "510000";
  var asOf = params.get("as_of");
  var headers = { Authorization: "Bearer " + token };
  var query = "year=" + year + "&scope=" + scope + (asOf ? "&as_of=" + asOf : "");
  var FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';

  function get(url) {
    return fetch(url, { headers: headers }).then(function (r) {
      if (!r.ok) { throw new Error(url + " → " + r.status); }
      return r.json();
    });
  }

  function pixels(chart) {
    // Non-transparent pixels of the chart's canvas: 0 means it drew nothing.
    var canvas = chart.getDom().querySelector("canvas");
    var data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    var count = 0;
    for (var i = 3; i < data.length; i += 4) { if (data[i] !== 0) { count += 1; } }
    return count;
  }

  function shareChart(rows) {
    var shown = rows.filter(function (r) { return r.share !== null; });
    var chart = echarts.init(document.getElementById("shares"), null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: FONT },
      title: { text: "主要指标完成率（%）", left: "center" },
      grid: { left: 320, right: 50, top: 50, bottom: 30 },
      xAxis: { type: "value", max: function (v) { return Math.max(100, Math.ceil(v.max)); } },
      yAxis: { type: "category", data: shown.map(function (r) { return r.name; }), inverse: true },
      series: [{
        type: "bar",
        data: shown.map(function (r) {
          var colour = r.status === "met" ? "#2e7d32" : r.status === "on_track" ? "#1565c0" : "#c62828";
          return { value: r.share, itemStyle: { color: colour } };
        }),
        label: { show: true, position: "right" },
        markLine: { symbol: "none", data: [{ xAxis: 100 }], lineStyle: { color: "#999" } }
      }]
    });
    return chart;
  }

  function cityChart(rows) {
    var directory = rows.filter(function (r) { return r.code === "directory_suppliers"; })[0];
    var names = window.CITY_NAMES;
    var codes = Object.keys(directory.by_city).sort();
    var chart = echarts.init(document.getElementById("cities"), null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: FONT },
      title: { text: "各市(州)名录库在库企业（户）", left: "center" },
      grid: { left: 50, right: 20, top: 50, bottom: 70 },
      xAxis: { type: "category", data: codes.map(function (c) { return names[c] || c; }),
               axisLabel: { rotate: 45 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: codes.map(function (c) { return directory.by_city[c]; }),
                 itemStyle: { color: "#b71c1c" }, label: { show: true, position: "top" } }]
    });
    return chart;
  }

  function table(rows) {
    var body = document.querySelector("#indicators tbody");
    rows.forEach(function (r, i) {
      var tr = document.createElement("tr");
      tr.className = r.status;
      [i + 1, r.name, r.unit, r.target === null ? "—" : r.target,
       r.actual === null ? "—" : r.actual, r.share === null ? "—" : r.share,
       r.expected === null ? "—" : r.expected, r.status_label].forEach(function (v) {
        var td = document.createElement("td");
        td.textContent = String(v);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  get("/v1/indicators?" + query).then(function (rows) {
    document.getElementById("scope").textContent = rows[0].scope_name + " · " + year + "年 · 截至 " + rows[0].as_of;
    table(rows);
    var charts = [shareChart(rows), cityChart(rows)];
    var drawn = charts.map(pixels);
    document.body.setAttribute("data-chart-pixels", JSON.stringify(drawn));
    document.body.setAttribute("data-cjk-font", String(document.fonts.check('16px "Noto Sans CJK SC"')));
    document.body.setAttribute("data-ready", "true");
  }).catch(function (error) {
    document.getElementById("error").textContent = "数据加载失败：" + error.message;
    document.body.setAttribute("data-ready", "error");
  });
})();
