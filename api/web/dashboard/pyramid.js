// The customer pyramid ("3E") as an SVG: Basis at the bottom, Ease, Emotion on top. The focus
// level (the lowest level under the project's focus threshold) is outlined and labelled.
import { esc } from "/web/common/login.js";
import * as fmt from "./format.js";

const WIDTH = 300;
const TOP = 8;
const BOTTOM = 252;
const GAP = 6;
// Bottom-up: each level's share of the pyramid's height.
const BANDS = [
  ["basis", 0.0, 0.34],
  ["ease", 0.34, 0.64],
  ["emotion", 0.64, 1.0],
];

function halfWidth(y) {
  return ((WIDTH / 2 - 8) * (y - TOP)) / (BOTTOM - TOP);
}

function fill(value, threshold) {
  if (value == null) return "#e3e7ec";
  return value >= threshold ? "#cfe8d6" : "#f6dcb8";
}

/** SVG markup of the pyramid for summary.levels and the focus threshold. */
export function pyramid(levels, threshold) {
  const mid = WIDTH / 2;
  const parts = BANDS.map(([level, from, to]) => {
    const yLow = BOTTOM - (BOTTOM - TOP) * from - (from ? GAP / 2 : 0);
    const yHigh = BOTTOM - (BOTTOM - TOP) * to + (to < 1 ? GAP / 2 : 0);
    const low = halfWidth(yLow);
    const high = halfWidth(yHigh);
    const points = [
      [mid - low, yLow],
      [mid + low, yLow],
      [mid + high, yHigh],
      [mid - high, yHigh],
    ]
      .map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`)
      .join(" ");
    const value = levels[level];
    const focus = levels.focus === level;
    const textY = level === "emotion" ? yLow - 26 : (yLow + yHigh) / 2 - 4;
    return `
      <g class="level${focus ? " focus" : ""}" data-level="${level}">
        <polygon points="${points}" fill="${fill(value, threshold)}"
          stroke="${focus ? "#1a1d21" : "#9aa3ad"}" stroke-width="${focus ? 3 : 1}"></polygon>
        <text x="${mid}" y="${textY}" text-anchor="middle" class="level-name">${fmt.levelName(level)}</text>
        <text x="${mid}" y="${textY + 17}" text-anchor="middle" class="level-score"
          data-key="level-${level}">${fmt.score(value)}</text>
        ${focus ? `<text x="${(mid + halfWidth((yLow + yHigh) / 2) + 8).toFixed(1)}" y="${((yLow + yHigh) / 2 + 4).toFixed(1)}" class="focus-tag">◀ FOCUS</text>` : ""}
      </g>`;
  });
  const label = BANDS.map(([level]) => `${fmt.levelName(level)} ${fmt.score(levels[level])}`).join(", ");
  const focusText = levels.focus ? `; focus on ${fmt.levelName(levels.focus)}` : "";
  return `<svg viewBox="0 0 ${WIDTH + 72} ${BOTTOM + 4}" role="img" class="pyramid-svg"
    aria-label="${esc(`Customer pyramid: ${label}${focusText}`)}">${parts.join("")}</svg>`;
}
