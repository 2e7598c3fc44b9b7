// The dashboard's three charts, drawn with the vendored Chart.js (window.Chart). Each chart is
// created once and updated in place on every refresh, so live updates do not flicker.
import * as fmt from "./format.js";

const COLORS = {
  score: "#1f5fbf",
  pass: "#1e7b3a",
  conscious: "#1f5fbf",
  implicit: "#c2410c",
  gapFill: "rgba(194, 65, 12, 0.14)",
  below: "#a86400",
  grid: "#e3e7ec",
  ink: "#1a1d21",
};

const charts = new Map();

const still = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

function base(extra = {}) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: still ? false : { duration: 250 },
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom", labels: { color: COLORS.ink, boxWidth: 14 } } },
    ...extra,
  };
}

function axis(min, max, title) {
  return {
    min,
    max,
    grid: { color: COLORS.grid },
    ticks: { color: COLORS.ink },
    title: title ? { display: true, text: title, color: COLORS.ink } : undefined,
  };
}

/** Creates or updates the chart on `canvas`; returns false when Chart.js did not load. */
function draw(canvas, config) {
  if (!window.Chart) return false;
  const existing = charts.get(canvas);
  if (existing && existing.canvas === canvas) {
    existing.data.labels = config.data.labels;
    config.data.datasets.forEach((dataset, i) => {
      if (existing.data.datasets[i]) Object.assign(existing.data.datasets[i], dataset);
      else existing.data.datasets.push(dataset);
    });
    existing.data.datasets.length = config.data.datasets.length;
    existing.update();
  } else {
    charts.set(canvas, new window.Chart(canvas, config));
  }
  return true;
}

export function forget(canvas) {
  charts.get(canvas)?.destroy();
  charts.delete(canvas);
}

/** Mean score and pass rate per wave. */
export function trend(canvas, points) {
  return draw(canvas, {
    type: "line",
    data: {
      labels: points.map((p) => p.wave_name || p.week || "No wave"),
      datasets: [
        {
          label: "Mean score",
          data: points.map((p) => p.mean_score),
          borderColor: COLORS.score,
          backgroundColor: COLORS.score,
          tension: 0.2,
        },
        {
          label: "Pass rate %",
          data: points.map((p) => (p.pass_rate == null ? null : p.pass_rate * 100)),
          borderColor: COLORS.pass,
          backgroundColor: COLORS.pass,
          borderDash: [6, 4],
          tension: 0.2,
        },
      ],
    },
    options: base({ scales: { y: axis(0, 100) } }),
  });
}

/** Mean score per phase, bars below the pass mark in amber. */
export function phases(canvas, rows, passMark) {
  return draw(canvas, {
    type: "bar",
    data: {
      labels: rows.map((p) => p.name || p.phase_key),
      datasets: [
        {
          label: "Mean score",
          data: rows.map((p) => p.mean_score),
          backgroundColor: rows.map((p) =>
            p.mean_score != null && p.mean_score < passMark ? COLORS.below : COLORS.score,
          ),
          borderRadius: 4,
        },
      ],
    },
    options: base({
      indexAxis: "y",
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => `Mean score ${fmt.score(item.raw)}` } },
      },
      scales: { x: axis(0, 100), y: { ticks: { color: COLORS.ink }, grid: { display: false } } },
    }),
  });
}

/** Conscious and implicit index per step in journey order; the band between them is the gap. */
export function emotion(canvas, steps) {
  return draw(canvas, {
    type: "line",
    data: {
      labels: steps.map((s) => s.name || s.step_key),
      datasets: [
        {
          label: "Conscious",
          data: steps.map((s) => s.conscious),
          borderColor: COLORS.conscious,
          backgroundColor: COLORS.conscious,
          tension: 0.25,
          spanGaps: true,
        },
        {
          label: "Implicit",
          data: steps.map((s) => s.implicit),
          borderColor: COLORS.implicit,
          backgroundColor: COLORS.gapFill,
          borderDash: [6, 4],
          tension: 0.25,
          spanGaps: true,
          fill: { target: "-1", above: COLORS.gapFill, below: COLORS.gapFill },
        },
      ],
    },
    options: base({
      plugins: {
        legend: { position: "bottom", labels: { color: COLORS.ink, boxWidth: 14 } },
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label} ${fmt.index(item.raw)}`,
            footer: (items) => `Gap (implicit − conscious) ${fmt.index(steps[items[0].dataIndex]?.gap)}`,
          },
        },
      },
      scales: {
        y: axis(-1, 1, "valence"),
        x: { ticks: { color: COLORS.ink, autoSkip: true, maxRotation: 50 }, grid: { display: false } },
      },
    }),
  });
}
