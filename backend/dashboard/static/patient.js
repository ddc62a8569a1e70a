// The patient page's interactive chart (Chart.js from static/vendor): weekly episodes per watched night
// against age, the fitted line with its 95% band, the 3- and 6-month reference marks, and an age axis
// switch (chronological / corrected) that redraws in place, and each treatment's period as a shaded band
// with its name. Without JS the server's SVG stays. Every word comes from the server (data.words, in the
// reader's language) and every number is written in the page's language (Intl, from <html lang>).
(function () {
  "use strict";
  var dataTag = document.getElementById("chart-data");
  var canvas = document.getElementById("trend-chart");
  if (!dataTag || !canvas || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(dataTag.textContent);
  var WORDS = data.words;
  var LANG = document.documentElement.lang || "en";
  var decimals = new Intl.NumberFormat(LANG, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var tenths = new Intl.NumberFormat(LANG, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var COLOURS = { data: "#0072B2", model: "#D55E00", band: "rgba(213, 94, 0, 0.18)", reference: "#444444",
                  treatment: "rgba(0, 158, 115, 0.13)", treatmentEdge: "#007a5a" };
  var axis = data.axis;

  // A server sentence with {name} marks filled in: fill("{name} (ongoing)", {name: "Phenobarbital"}).
  function fill(sentence, values) {
    return sentence.replace(/\{(\w+)\}/g, function (mark, name) { return name in values ? values[name] : mark; });
  }

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
        type: "line", label: ref.text,
        data: [{ x: shift(ref.age), y: 0 }, { x: shift(ref.age), y: top }],
        borderColor: COLOURS.reference, borderDash: [2, 3], borderWidth: 1.4, pointRadius: 0
      };
    });
  }

  function datasets() {
    var weekly = points(data.weeks, "rate");
    var rates = data.weeks.map(function (w) { return w.rate || 0; });
    var sets = [{
      type: "line", label: WORDS.weekly, data: weekly, spanGaps: false,
      borderColor: COLOURS.data, backgroundColor: COLOURS.data, borderWidth: 1.2, pointRadius: 4
    }];
    if (data.model) {
      data.model.forEach(function (p) { rates.push(p.rate); });
      sets.push({ type: "line", label: WORDS.band, data: points(data.model, "high"), borderWidth: 0,
                  pointRadius: 0, fill: false, backgroundColor: COLOURS.band, upperEdge: true });
      sets.push({ type: "line", label: WORDS.band, data: points(data.model, "low"), borderWidth: 0,
                  pointRadius: 0, fill: "-1", backgroundColor: COLOURS.band });
      sets.push({ type: "line", label: WORDS.fitted, data: points(data.model, "rate"), borderColor: COLOURS.model,
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
        ctx.fillText(band.ongoing ? fill(WORDS.ongoing, { name: band.name }) : band.name, left + 4, area.top + 4 + 14 * (drawn % 4));
        drawn += 1;
      });
      ctx.restore();
      chart.canvas.dataset.treatmentBands = String(drawn);
    }
  };

  function ageLabel() { return WORDS.x_axis[axis]; }

  canvas.hidden = false;
  var fallback = document.getElementById("trend-chart-image");
  if (fallback) { fallback.hidden = true; }
  var chart = new window.Chart(canvas, {
    data: { datasets: datasets() },
    plugins: [treatmentBands],
    options: {
      locale: LANG, animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", title: { display: true, text: ageLabel() } },
        y: { beginAtZero: true, title: { display: true, text: WORDS.y_axis } }
      },
      plugins: {
        legend: { labels: { filter: function (item, shown) {
          return !shown.datasets[item.datasetIndex].upperEdge;  // the band's two edges are one legend entry
        } } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var y = ctx.parsed.y === null ? WORDS.not_watched : decimals.format(ctx.parsed.y);
              return fill(WORDS.point, { series: ctx.dataset.label, rate: y, age: tenths.format(ctx.parsed.x) });
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
