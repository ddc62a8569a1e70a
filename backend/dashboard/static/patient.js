// The patient page's interactive chart (Chart.js from static/vendor): weekly episodes per watched night
// against age, the fitted line with its 95% band, the 3- and 6-month reference marks, and an age axis
// switch (chronological / corrected) that redraws in place, and each treatment's period as a shaded band
// with its name. Without JS the server's SVG stays.
(function () {
  "use strict";
  var dataTag = document.getElementById("chart-data");
  var canvas = document.getElementById("trend-chart");
  if (!dataTag || !canvas || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(dataTag.textContent);
  var COLOURS = { data: "#0072B2", model: "#D55E00", band: "rgba(213, 94, 0, 0.18)", reference: "#444444",
                  treatment: "rgba(0, 158, 115, 0.13)", treatmentEdge: "#007a5a" };
  var axis = data.axis;

  function shift(age) { return axis === "corrected" ? age - data.shift_weeks : age; }

  function points(rows, key) {
    return rows.map(function (row) { return { x: shift(row.age), y: row[key] }; });
  }

  // Reference marks only where the diary's ages reach, as on the server's chart.
  var ages = data.weeks.map(function (w) { return w.age; });
  var lowest = Math.min.apply(null, ages) - 0.75, highest = Math.max.apply(null, ages) + 0.75;

  function referenceLines(top) {
    return data.references.filter(function (ref) {
      return ref.age >= lowest && ref.age <= highest;
    }).map(function (ref) {
      return {
        type: "line", label: ref.label + ": " + Math.round(ref.share * 100) + "% of BNSM resolved",
        data: [{ x: shift(ref.age), y: 0 }, { x: shift(ref.age), y: top }],
        borderColor: COLOURS.reference, borderDash: [2, 3], borderWidth: 1.4, pointRadius: 0
      };
    });
  }

  function datasets() {
    var weekly = points(data.weeks, "rate");
    var rates = data.weeks.map(function (w) { return w.rate || 0; });
    var sets = [{
      type: "line", label: "Episodes per watched night (week)", data: weekly, spanGaps: false,
      borderColor: COLOURS.data, backgroundColor: COLOURS.data, borderWidth: 1.2, pointRadius: 4
    }];
    if (data.model) {
      data.model.forEach(function (p) { rates.push(p.rate); });
      sets.push({ type: "line", label: "95% band, upper", data: points(data.model, "high"), borderWidth: 0,
                  pointRadius: 0, fill: false, backgroundColor: COLOURS.band });
      sets.push({ type: "line", label: "95% confidence band", data: points(data.model, "low"), borderWidth: 0,
                  pointRadius: 0, fill: "-1", backgroundColor: COLOURS.band });
      sets.push({ type: "line", label: "Fitted trend", data: points(data.model, "rate"), borderColor: COLOURS.model,
                  borderDash: [6, 4], borderWidth: 2, pointRadius: 0 });
    }
    var top = Math.max.apply(null, rates.concat([1])) * 1.4;
    return sets.concat(referenceLines(top));
  }

  // Treatment periods behind the data: a rectangle from the start to the stop (or today), clipped to the plot,
  // the name at the top; the canvas's data-treatment-bands says how many are in view.
  var treatmentBands = {
    id: "treatmentBands",
    beforeDatasetsDraw: function (chart) {
      var area = chart.chartArea, x = chart.scales.x, ctx = chart.ctx, drawn = 0;
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      ctx.font = "12px system-ui, sans-serif";
      ctx.textBaseline = "top";
      (data.treatments || []).forEach(function (band) {
        var left = Math.max(x.getPixelForValue(shift(band.start)), area.left);
        var right = Math.min(x.getPixelForValue(shift(band.end)), area.right);
        if (right < left) { return; }
        right = Math.max(right, left + 2);  // a one-day treatment stays visible
        ctx.fillStyle = COLOURS.treatment;
        ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
        ctx.fillStyle = COLOURS.treatmentEdge;
        ctx.fillRect(left, area.top, 2, area.bottom - area.top);
        ctx.fillText(band.name + (band.ongoing ? " (ongoing)" : ""), left + 4, area.top + 4 + 14 * (drawn % 4));
        drawn += 1;
      });
      ctx.restore();
      chart.canvas.dataset.treatmentBands = String(drawn);
    }
  };

  function ageLabel() { return "Age in weeks (" + axis + ")"; }

  canvas.hidden = false;
  var fallback = document.getElementById("trend-chart-image");
  if (fallback) { fallback.hidden = true; }
  var chart = new window.Chart(canvas, {
    data: { datasets: datasets() },
    plugins: [treatmentBands],
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", title: { display: true, text: ageLabel() } },
        y: { beginAtZero: true, title: { display: true, text: "Episodes per watched night" } }
      },
      plugins: {
        legend: { labels: { filter: function (item) { return item.text !== "95% band, upper"; } } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var y = ctx.parsed.y === null ? "not watched" : ctx.parsed.y.toFixed(2);
              return ctx.dataset.label + ": " + y + " at " + ctx.parsed.x.toFixed(1) + " weeks";
            }
          }
        }
      }
    }
  });
  canvas.dataset.ready = "true";

  // The axis switch redraws in place; the form's submit button is only for pages without JS.
  document.querySelectorAll(".axis-switch input[name=age]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      axis = radio.value;
      chart.data.datasets = datasets();
      chart.options.scales.x.title.text = ageLabel();
      chart.update();
      canvas.dataset.axis = axis;
    });
  });
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  canvas.dataset.axis = axis;
})();
