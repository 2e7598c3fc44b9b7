// The CX map document (GET /projects/{id}/cx-map) as markup: phases across the top, touchpoints
// and steps beneath, then two lanes drawn through the step columns — measured score against the
// desired journey, and the conscious against the implicit emotion — and the flags per step.
// Plain HTML and SVG, so it prints and scales; used by the CX map page and the report.
import { esc } from "/web/common/login.js";
import * as fmt from "./format.js";

export const FLAG_NAMES = {
  moment_of_truth: "Moment of truth",
  pain_point: "Pain point",
  opportunity: "Opportunity",
};
const REASONS = { score: "low score", emotion: "negative emotion" };

/** Every step of the document in journey order, with its phase. */
export function stepsOf(doc) {
  return doc.phases.flatMap((phase) => phase.steps.map((step) => ({ ...step, phase })));
}

export function flagsOf(step) {
  const flags = [];
  if (step.flags.moment_of_truth) flags.push("moment_of_truth");
  if (step.flags.pain_point) flags.push("pain_point");
  if (step.flags.opportunity) flags.push("opportunity");
  return flags;
}

const num = (value) => (value == null ? "" : String(value));

/**
 * Markup of the map. `actionLink(step)` may return a link to plan an action on the step (or "").
 */
export function cxMap(doc, { actionLink = () => "", passMark = null } = {}) {
  const steps = stepsOf(doc);
  if (!steps.length) return `<p class="empty">The project has no journey yet.</p>`;
  const n = steps.length;
  const starts = new Set(doc.phases.map((phase) => phase.steps[0]?.step_key));
  const cell = (step, cls, body, attrs = "") =>
    `<div class="cx-cell ${cls}${starts.has(step.step_key) ? " phase-start" : ""}${flagClasses(step)}" data-step="${esc(step.step_key)}"${attrs}>${body}</div>`;
  const label = (text, note = "") =>
    `<div class="cx-label" role="rowheader">${text}${note ? `<span class="muted key">${note}</span>` : ""}</div>`;

  const phases = doc.phases
    .filter((phase) => phase.steps.length)
    .map(
      (phase) =>
        `<div class="cx-phase" style="grid-column: span ${phase.steps.length}" data-phase="${esc(phase.phase_key)}"><span>${esc(phase.name || phase.phase_key)}</span></div>`,
    )
    .join("");
  const touchpoints = steps
    .map((s) =>
      cell(
        s,
        "cx-touch",
        `${esc(s.touchpoint || "—")}${s.channel ? ` <span class="muted">· ${esc(s.channel)}</span>` : ""}`,
      ),
    )
    .join("");
  const names = steps
    .map((s) => cell(s, "cx-name", `<strong>${esc(s.name || s.step_key)}</strong><span class="muted small">${fmt.count(s.visits)} visits</span>`))
    .join("");
  const scores = steps
    .map((s) =>
      cell(
        s,
        "cx-score",
        `<span class="big" data-key="cx-score-${esc(s.step_key)}">${fmt.score(s.score)}</span>
         <span class="small">target <span data-key="cx-desired-${esc(s.step_key)}">${fmt.score(s.desired)}</span></span>
         <span class="small${s.gap > 0 ? " short" : ""}">gap <span data-key="cx-gap-${esc(s.step_key)}">${fmt.score(s.gap)}</span></span>`,
        ` data-score="${num(s.score)}" data-desired="${num(s.desired)}" data-gap="${num(s.gap)}"`,
      ),
    )
    .join("");
  const emotions = steps
    .map((s) =>
      cell(
        s,
        "cx-emotion",
        `<span class="small"><span class="swatch conscious"></span>conscious <span data-key="cx-conscious-${esc(s.step_key)}">${fmt.index(s.conscious)}</span></span>
         <span class="small"><span class="swatch implicit"></span>implicit <span data-key="cx-implicit-${esc(s.step_key)}">${fmt.index(s.implicit)}</span></span>`,
        ` data-conscious="${num(s.conscious)}" data-implicit="${num(s.implicit)}"`,
      ),
    )
    .join("");
  const flags = steps
    .map((s) => cell(s, "cx-flags", flagBadges(s) + actionLink(s), ` data-flags="${flagsOf(s).join(" ")}"`))
    .join("");

  const scoreLane = lane(steps, {
    name: "score",
    min: 0,
    max: 100,
    guide: passMark,
    series: [
      { cls: "measured", values: steps.map((s) => s.score) },
      { cls: "desired", values: steps.map((s) => s.desired) },
    ],
    starts,
  });
  const emotionLane = lane(steps, {
    name: "emotion",
    min: -1,
    max: 1,
    guide: 0,
    series: [
      { cls: "conscious", values: steps.map((s) => s.conscious) },
      { cls: "implicit", values: steps.map((s) => s.implicit) },
    ],
    starts,
  });

  return `<div class="cx-scroll" role="region" aria-label="CX map (scrolls sideways on small screens)" tabindex="0">
    <div class="cx-grid" role="table" aria-label="CX map" style="--steps: ${n}">
      ${label("Phase")}${phases}
      ${label("Touchpoint")}${touchpoints}
      ${label("Step")}${names}
      ${label("Score", `<span><span class="swatch measured"></span>measured</span><span><span class="swatch desired"></span>desired</span>`)}${scoreLane}
      ${label("", "")}${scores}
      ${label("Emotion", `<span><span class="swatch conscious"></span>conscious</span><span><span class="swatch implicit"></span>implicit</span>`)}${emotionLane}
      ${label("", "")}${emotions}
      ${label("Flags")}${flags}
    </div>
  </div>`;
}

function flagClasses(step) {
  return flagsOf(step)
    .map((flag) => ` is-${flag.replaceAll("_", "-")}`)
    .join("");
}

function flagBadges(step) {
  const badges = [];
  const truth = step.flags.moment_of_truth;
  if (truth) {
    badges.push(
      `<span class="flag truth" data-flag="moment_of_truth" title="Pearson r ${truth.r.toFixed(2)} with the visit score over ${truth.n} visits (r² ${truth.r_squared.toFixed(2)})">★ Moment of truth #${truth.rank} <span class="small">r ${truth.r.toFixed(2)}</span></span>`,
    );
  }
  if (step.flags.pain_point) {
    const why = step.flags.pain_reasons.map((r) => REASONS[r] || r).join(", ");
    badges.push(`<span class="flag pain" data-flag="pain_point">▼ Pain point <span class="small">${esc(why)}</span></span>`);
  }
  if (step.flags.opportunity) {
    badges.push(`<span class="flag opportunity" data-flag="opportunity">◆ Opportunity <span class="small">neutral emotion, good basics</span></span>`);
  }
  return badges.join("") || `<span class="muted small">—</span>`;
}

/** One lane: lines through the step columns (SVG stretched to the columns) and a dot per value. */
function lane(steps, { name, min, max, guide, series, starts }) {
  const n = steps.length;
  const y = (value) => 8 + ((max - value) / (max - min)) * 84;
  const x = (i) => i * 100 + 50;
  const tints = steps
    .map((s, i) => {
      const flag = flagsOf(s)[0];
      const rect = flag ? `<rect class="tint ${flag}" x="${i * 100}" y="0" width="100" height="100"></rect>` : "";
      const rule = i && starts.has(s.step_key) ? `<line class="phase-rule" x1="${i * 100}" x2="${i * 100}" y1="0" y2="100"></line>` : "";
      return rect + rule;
    })
    .join("");
  const guideLine =
    guide == null ? "" : `<line class="guide" x1="0" x2="${n * 100}" y1="${y(guide)}" y2="${y(guide)}"></line>`;
  const lines = series
    .map(({ cls, values }) => {
      // A missing value breaks the line rather than bridging steps nobody measured.
      const runs = [[]];
      values.forEach((value, i) => {
        if (value == null) runs.push([]);
        else runs.at(-1).push(`${x(i)},${y(value).toFixed(2)}`);
      });
      return runs
        .filter((run) => run.length)
        .map((run) =>
          run.length === 1
            ? ""
            : `<polyline class="line ${cls}" points="${run.join(" ")}" vector-effect="non-scaling-stroke"></polyline>`,
        )
        .join("");
    })
    .join("");
  const dots = series
    .flatMap(({ cls, values }) =>
      values.map((value, i) =>
        value == null
          ? ""
          : `<span class="dot ${cls}" data-step="${esc(steps[i].step_key)}" style="left: ${(((i + 0.5) / n) * 100).toFixed(3)}%; top: ${y(value).toFixed(2)}%"
              title="${esc(`${steps[i].name || steps[i].step_key}: ${cls} ${min < 0 ? fmt.index(value) : fmt.score(value)}`)}"></span>`,
      ),
    )
    .join("");
  return `<div class="cx-lane cx-lane-${name}" style="grid-column: span ${n}" data-lane="${name}">
    <svg viewBox="0 0 ${n * 100} 100" preserveAspectRatio="none" aria-hidden="true">${tints}${guideLine}${lines}</svg>
    ${dots}
  </div>`;
}

/** The pyramid levels against the desired journey's level targets. */
export function levelsTable(levels) {
  const rows = levels
    .map(
      (l) => `<tr data-level="${l.level}"><td>${fmt.levelName(l.level)}</td>
        <td class="num" data-key="cx-level-${l.level}">${fmt.score(l.score)}</td>
        <td class="num">${fmt.score(l.desired)}</td><td class="num">${fmt.score(l.gap)}</td></tr>`,
    )
    .join("");
  return `<table class="cx-levels"><thead><tr><th>Level</th><th class="num">Score</th><th class="num">Desired</th><th class="num">Gap</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The rules behind the flags, with their thresholds, as the API states them. */
export function rules(stats) {
  return `<dl class="cx-rules">
    <dt>★ Moment of truth</dt><dd>${esc(stats.moment_of_truth)} <span class="muted">(n ≥ ${stats.min_correlation_visits}, r ≥ ${stats.moment_of_truth_r}, top ${stats.moments_of_truth_max})</span></dd>
    <dt>▼ Pain point</dt><dd>${esc(stats.pain_point)} <span class="muted">(pass mark ${fmt.score(stats.pass_mark)}, emotion below ${stats.negative_emotion}, top ${stats.pain_points_max})</span></dd>
    <dt>◆ Opportunity</dt><dd>${esc(stats.opportunity)} <span class="muted">(|emotion| &lt; ${stats.neutral_emotion}, good ≥ ${fmt.score(stats.good_level)})</span></dd>
  </dl>`;
}
