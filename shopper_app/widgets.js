// One widget per question type. Each returns a <fieldset data-question=key> and reports the new
// answer through onChange(value); `undefined` means unanswered, {na: true} means not applicable.
import { t, pick } from "./i18n.js";
import { h, localTime } from "./ui.js";

function radios(q, value, onChange, options) {
  return h("div.options", { role: "radiogroup" },
    options.map(({ key, label }) => h("label.option", { dataset: { value: key } },
      h("input", { type: "radio", name: q.key, value: key, checked: value === key, onchange: () => onChange(key) }),
      h("span", label))));
}

const builders = {
  yes_no: (q, value, onChange) => h("div.segmented.yesno",
    ["yes", "no"].map((key) => h("label.seg", { dataset: { value: key } },
      h("input", { type: "radio", name: q.key, value: key, checked: value === key, onchange: () => onChange(key) }),
      h("span", t(key))))),

  scale: (q, value, onChange) => {
    const { min, max, labels = {} } = q.scale;
    const values = Array.from({ length: max - min + 1 }, (_, i) => min + i);
    return h("div",
      h("div.segmented.scale", { role: "radiogroup" },
        values.map((v) => h("label.seg", { dataset: { value: v } },
          h("input", { type: "radio", name: q.key, value: v, checked: value === v, onchange: () => onChange(v) }),
          h("span", String(v))))),
      h("div.scale-ends", h("span", labels[min] ?? ""), h("span", labels[max] ?? "")));
  },

  single_choice: (q, value, onChange) =>
    radios(q, value, onChange, q.options.map((o) => ({ key: o.key, label: pick(o, "label") }))),

  multi_choice: (q, value, onChange) => {
    const chosen = new Set(Array.isArray(value) ? value : []);
    return h("div.options",
      q.options.map((o) => h("label.option", { dataset: { value: o.key } },
        h("input", {
          type: "checkbox", name: q.key, value: o.key, checked: chosen.has(o.key),
          onchange: (e) => {
            if (e.target.checked) chosen.add(o.key);
            else chosen.delete(o.key);
            onChange(q.options.map((x) => x.key).filter((k) => chosen.has(k)));
          },
        }),
        h("span", pick(o, "label")))));
  },

  number: (q, value, onChange) => h("input", {
    type: "number", name: q.key, inputmode: "decimal", step: "any",
    min: q.number?.min ?? null, max: q.number?.max ?? null,
    value: typeof value === "number" ? value : "",
    oninput: (e) => onChange(e.target.value === "" ? undefined : Number(e.target.value)),
  }),

  text: (q, value, onChange) => {
    const counter = h("span.muted");
    const count = (text) => { counter.textContent = q.min_length ? t("text.min", { n: text.length, min: q.min_length }) : ""; };
    const area = h("textarea", {
      name: q.key, rows: 3, maxlength: 4000,
      oninput: (e) => { count(e.target.value); onChange(e.target.value.trim() ? e.target.value : undefined); },
    });
    area.value = typeof value === "string" ? value : "";
    count(area.value);
    return h("div", area, counter);
  },

  time: (q, value, onChange) => {
    const input = h("input", { type: "time", name: q.key, value: typeof value === "string" ? value : "", oninput: (e) => onChange(e.target.value || undefined) });
    return h("div.row",
      input,
      h("button.secondary", { type: "button", onclick: () => { input.value = localTime(); onChange(input.value); } }, t("time.now")));
  },

  photo: (q, value, onChange, ctx) => {
    const photos = ctx.photos(q.key);
    const status = h("span.muted", { role: "status" });
    const strip = h("div.thumbs", photos.map((p) => thumb(p)));
    function thumb(p) {
      return h("figure.thumb", { dataset: { uuid: p.uuid } },
        p.thumb ? h("img", { src: p.thumb, alt: t("photo.alt") }) : h("span", "📷"),
        h("button.remove", { type: "button", "aria-label": t("photo.remove"), onclick: () => { ctx.removePhoto(q.key, p.uuid); onChange(ctx.photos(q.key).map((x) => x.uuid)); strip.querySelector(`[data-uuid="${p.uuid}"]`)?.remove(); } }, "×"));
    }
    const input = h("input.file", {
      type: "file", accept: "image/*", capture: "environment", name: q.key,
      onchange: async (e) => {
        const file = e.target.files[0];
        e.target.value = "";
        if (!file) return;
        status.textContent = t("photo.processing");
        try {
          const photo = await ctx.addPhoto(q.key, file);
          strip.append(thumb(photo));
          status.textContent = t("photo.queued");
          onChange(ctx.photos(q.key).map((x) => x.uuid));
        } catch (error) {
          console.error(error);
          status.textContent = t("photo.notImage");
        }
      },
    });
    return h("div", strip, h("label.button.secondary.photo-button", input, "📷 ", t("photo.take")), status);
  },
};

/** The widget for one question, with its N/A toggle when the question allows it. */
export function questionWidget(q, value, onChange, ctx) {
  const na = value && typeof value === "object" && !Array.isArray(value) && value.na === true;
  const body = h("div.answer", { hidden: na });
  let current = na ? undefined : value; // kept so that unticking N/A restores the answer
  body.append(builders[q.type](q, current, (v) => { current = v; onChange(v); }, ctx));
  const required = q.required !== false || q.evidence_required;
  return h("fieldset.question", { dataset: { question: q.key, type: q.type } },
    h("legend", pick(q, "text"), required ? h("span.req", " *") : null),
    q.help ? h("p.help", q.help) : null,
    body,
    q.allow_na
      ? h("label.na", h("input", {
        type: "checkbox", name: `${q.key}-na`, checked: na,
        onchange: (e) => { body.hidden = e.target.checked; onChange(e.target.checked ? { na: true } : current); },
      }), t("na"))
      : null,
    h("p.error.field-error", { role: "alert" }));
}
