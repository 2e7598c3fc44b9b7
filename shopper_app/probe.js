// The unconscious (implicit) emotion probe: a fixation cross, then the stimulus with answer buttons;
// the shopper taps a gut reaction before the deadline. Latency is measured with performance.now()
// from the frame that shows the stimulus; timeouts are recorded too (choice null).
import { t } from "./i18n.js";
import { h } from "./ui.js";
import { face } from "./emotion.js";

const FIXATION_MS = 600;
const FIXATION_JITTER_MS = 400;

const VALENCE_CHOICES = [
  { choice: -1, mood: -2, label: "probe.neg" },
  { choice: 0, mood: 0, label: "probe.neu" },
  { choice: 1, mood: 2, label: "probe.pos" },
];
const FACE_CHOICES = [
  { choice: "happy", mood: 2 },
  { choice: "neutral", mood: 0 },
  { choice: "sad", mood: -2 },
  { choice: "angry", mood: -2, kind: "angry", colour: "#d9480f" },
  { choice: "surprised", mood: 0, kind: "surprised", colour: "#e8a200" },
];

const nextPaint = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function stimulusNode(probe, context) {
  const s = probe.stimulus;
  if (s === "step_photo" && context.photo) return h("img.stimulus-img", { src: context.photo, alt: "" });
  if (s.startsWith("word:")) return h("p.stimulus-word", s.slice(5));
  return h("p.stimulus-word", context.stepName);
}

/** Run one probe in a full-screen overlay → the raw probe record. */
export async function runProbe(probe, context) {
  const deadline = probe.deadline_ms || 1500;
  const overlay = h("div.probe", { role: "dialog", "aria-modal": "true", dataset: { phase: "intro" } });
  document.body.append(overlay);
  try {
    await new Promise((resolve) => {
      overlay.replaceChildren(h("div.probe-intro",
        h("p", t(probe.kind === "face" ? "probe.introFace" : "probe.introValence")),
        h("p.muted", t("probe.deadline", { s: (deadline / 1000).toFixed(1) })),
        h("button.primary.big", { type: "button", onclick: resolve }, t("probe.ready"))));
    });
    overlay.dataset.phase = "fixation";
    overlay.replaceChildren(h("div.fixation", { "aria-label": "+" }, "+"));
    await sleep(FIXATION_MS + Math.random() * FIXATION_JITTER_MS);

    const choices = probe.kind === "face" ? FACE_CHOICES : VALENCE_CHOICES;
    let answer;
    const answered = new Promise((resolve) => { answer = resolve; });
    const buttons = choices.map((c) => h("button.probe-choice", {
      type: "button",
      dataset: { choice: c.choice },
      "aria-label": t(c.label || `face.${c.choice}`),
      onpointerdown: (event) => { event.preventDefault(); answer({ choice: c.choice, at: performance.now() }); },
      onclick: () => answer({ choice: c.choice, at: performance.now() }),
    }, face(c.mood, { kind: c.kind, colour: c.colour, size: 56 }), h("span", t(c.label || `face.${c.choice}`))));
    overlay.dataset.phase = "stimulus";
    overlay.replaceChildren(h("div.stimulus", stimulusNode(probe, context)), h("div.probe-choices", { dataset: { kind: probe.kind } }, buttons));
    await nextPaint();
    const shownAt = performance.now();
    const shownIso = new Date().toISOString();
    const result = await Promise.race([answered, sleep(deadline).then(() => null)]);
    const base = { stimulus: probe.stimulus, kind: probe.kind, deadline_ms: deadline, shown_at: shownIso };
    if (!result) return { ...base, choice: null, latency_ms: deadline, timed_out: true };
    return { ...base, choice: result.choice, latency_ms: Math.max(0, Math.round(result.at - shownAt)) };
  } finally {
    overlay.remove();
  }
}

/** The step's probe section: one button that runs every probe of the step in turn. */
export function probeWidget(probes, recorded, context, onDone) {
  const status = h("p.muted");
  const box = h("fieldset.probes", { dataset: { widget: "probes", done: String(recorded.length >= probes.length) } },
    h("legend", t("probe.title"), h("span.req", " *")));
  const show = (records) => {
    box.dataset.done = String(records.length >= probes.length);
    status.textContent = records.length
      ? records.map((r) => (r.timed_out ? t("probe.timeout") : t("probe.ms", { ms: r.latency_ms }))).join(" · ")
      : t("probe.explain");
  };
  const button = h("button.primary", {
    type: "button",
    hidden: recorded.length >= probes.length,
    onclick: async () => {
      button.disabled = true;
      const records = [];
      for (const probe of probes) records.push(await runProbe(probe, context()));
      button.hidden = true;
      show(records);
      onDone(records);
    },
  }, t("probe.start", { n: probes.length }));
  show(recorded);
  box.append(status, button);
  return box;
}
