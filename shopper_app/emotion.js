// The conscious emotion measure: seven faces from very negative (−3) to very positive (+3),
// optional arousal (1 calm … 5 excited), an optional named emotion with its intensity, a note.
import { t } from "./i18n.js";
import { h } from "./ui.js";

/** Mirrors briefings.NAMED_EMOTIONS. */
export const NAMED_EMOTIONS = [
  "joy", "trust", "relief", "surprise", "neutral", "boredom",
  "irritation", "disappointment", "anger", "anxiety", "confusion",
];

const COLOURS = ["#b00020", "#d9480f", "#e8a200", "#9e9e9e", "#7cb342", "#2e7d32", "#1b5e20"];

/** An SVG face; `mood` −3…+3 bends the mouth. `kind` picks the probe faces (angry, surprised). */
export function face(mood, { kind = null, size = 44, colour = null } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 40 40");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  const fill = colour || COLOURS[mood + 3];
  let mouth = `M11 ${26 - mood} Q20 ${26 + mood * 3} 29 ${26 - mood}`;
  let brows = "";
  if (kind === "surprised") mouth = "M16 27 a4 4 0 1 0 8 0 a4 4 0 1 0 -8 0";
  if (kind === "angry") brows = '<path d="M10 11 L17 15 M30 11 L23 15" stroke="#111" stroke-width="2.5" stroke-linecap="round"/>';
  svg.innerHTML =
    `<circle cx="20" cy="20" r="18" fill="${fill}" stroke="#111" stroke-width="2"/>` +
    `<circle cx="14" cy="16" r="2.6" fill="#111"/><circle cx="26" cy="16" r="2.6" fill="#111"/>` +
    brows +
    `<path d="${mouth}" fill="none" stroke="#111" stroke-width="2.8" stroke-linecap="round"/>`;
  return svg;
}

function radioRow(name, values, current, label, onPick, extra = () => null) {
  return h("div.segmented", { role: "radiogroup", "aria-label": label },
    values.map((v) => h("label.seg", { dataset: { value: v } },
      h("input", { type: "radio", name, value: v, checked: current === v, onchange: () => onPick(v) }),
      extra(v),
      h("span", String(v > 0 && name.includes("valence") ? `+${v}` : v)))));
}

/** The widget; `value` {valence, arousal, emotion, intensity, note}; `onChange(newValue)`. */
export function consciousWidget(stepKey, value, onChange) {
  const state = { ...value };
  const update = (patch) => {
    Object.assign(state, patch);
    for (const [k, v] of Object.entries(state)) if (v === undefined || v === "" || v === null) delete state[k];
    onChange({ ...state });
  };
  const name = (field) => `${stepKey}-${field}`;
  const intensity = h("div.intensity", { hidden: !state.emotion },
    h("p.label", t("emotion.intensity")),
    radioRow(name("intensity"), [1, 2, 3, 4, 5], state.intensity, t("emotion.intensity"), (v) => update({ intensity: v })));
  const select = h("select", {
    name: name("emotion"),
    onchange: (e) => {
      intensity.hidden = !e.target.value;
      update({ emotion: e.target.value || undefined, intensity: e.target.value ? state.intensity : undefined });
    },
  }, h("option", { value: "" }, t("emotion.none")),
  NAMED_EMOTIONS.map((e) => h("option", { value: e, selected: state.emotion === e }, t(`emo.${e}`))));

  return h("fieldset.emotion", { dataset: { widget: "conscious" } },
    h("legend", t("emotion.question"), h("span.req", " *")),
    h("div.faces", { role: "radiogroup", "aria-label": t("emotion.question") },
      [-3, -2, -1, 0, 1, 2, 3].map((v) => h("label.face", { dataset: { valence: v }, title: t(`valence.${v}`) },
        h("input", { type: "radio", name: name("valence"), value: v, checked: state.valence === v, onchange: () => update({ valence: v }) }),
        face(v),
        h("span.sr", t(`valence.${v}`))))),
    h("div.scale-ends", h("span", t("valence.-3")), h("span", t("valence.3"))),
    h("details", { open: state.arousal || state.emotion || state.note ? true : null },
      h("summary", t("emotion.more")),
      h("p.label", t("emotion.arousal")),
      radioRow(name("arousal"), [1, 2, 3, 4, 5], state.arousal, t("emotion.arousal"), (v) => update({ arousal: v })),
      h("div.scale-ends", h("span", t("arousal.low")), h("span", t("arousal.high"))),
      h("label", t("emotion.named"), select),
      intensity,
      h("label", t("emotion.note"), h("input", { type: "text", name: name("note"), value: state.note || "", maxlength: 500, oninput: (e) => update({ note: e.target.value }) }))));
}
