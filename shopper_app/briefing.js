// The briefing reader and its quiz: a visit cannot start before the quiz is passed.
import * as api from "./api.js";
import * as db from "./db.js";
import { t, pick } from "./i18n.js";
import { h, render, toast } from "./ui.js";

/** The briefing of an assignment: fresh when online, else the copy kept for offline use. */
export async function loadBriefing(assignmentId) {
  const key = `briefing:${assignmentId}`;
  try {
    const fresh = await api.get(`/assignments/${assignmentId}/briefing`);
    await db.kv.set(key, fresh);
    return fresh;
  } catch (error) {
    const kept = await db.kv.get(key);
    if (error instanceof api.NetworkError && kept) return kept;
    throw error;
  }
}

const list = (items) => (items?.length ? h("ul", items.map((item) => h("li", item))) : null);

export async function briefingScreen(assignmentId) {
  render(h("p.muted", t("loading")));
  let data;
  try {
    data = await loadBriefing(assignmentId);
  } catch (error) {
    render(h("section.card", h("h1", t("briefing")), h("p.error", error instanceof api.NetworkError ? t("needsConnection") : error.message),
      h("a.button.secondary", { href: "#/assignments" }, t("back"))));
    return;
  }
  const b = data.briefing || {};
  const steps = Object.fromEntries(data.journey.phases.flatMap((p) => p.steps).map((s) => [s.key, s]));
  // The project persona the assignment names comes first; else the journey briefing's own.
  const persona = data.persona || b.persona;
  render(
    h("h1", data.journey.name),
    h("section.card",
      h("h2", t("briefing.scenario")), h("p", b.scenario || "—"),
      persona ? [h("h2", t("briefing.persona")), h("p", h("strong", persona.name)), h("p", persona.description || "")] : null,
      b.dos?.length ? [h("h2", t("briefing.dos")), list(b.dos)] : null,
      b.donts?.length ? [h("h2", t("briefing.donts")), list(b.donts)] : null,
      Object.keys(b.step_instructions || {}).length
        ? [h("h2", t("briefing.steps")), h("dl", Object.entries(b.step_instructions).map(([k, text]) => [h("dt", steps[k]?.name || k), h("dd", text)]))]
        : null,
      b.attachments?.length
        ? [h("h2", t("briefing.attachments")), h("ul", b.attachments.map((a) => h("li", h("a", { href: a.url, target: "_blank", rel: "noopener" }, a.name))))]
        : null),
    quizSection(assignmentId, data),
    h("p", h("a.button.secondary", { href: "#/assignments" }, t("back"))));
}

function quizSection(assignmentId, data) {
  const quiz = data.briefing?.quiz;
  const startButton = h("a.button.primary#start-visit", { href: `#/visit/${assignmentId}` }, t("visit.start"));
  if (data.quiz_passed || !quiz) {
    return h("section.card.quiz#quiz", h("p.ok", "✓ ", t("quiz.passed")), startButton);
  }
  const attemptsLeft = quiz.max_attempts ? quiz.max_attempts - data.attempts_used : null;
  const result = h("div", { role: "status" });
  const form = h("form.card.quiz#quiz", { onsubmit: submit },
    h("h2", t("quiz.title")),
    h("p.muted", t("quiz.intro", { mark: quiz.pass_mark }), attemptsLeft !== null ? ` ${t("quiz.attempts", { n: attemptsLeft })}` : ""),
    quiz.questions.map((q) => h("fieldset.choice", { dataset: { question: q.key } },
      h("legend", pick(q, "text")),
      q.options.map((o) => h("label.option", h("input", { type: "radio", name: q.key, value: o.key, required: true }), h("span", pick(o, "label")))))),
    result,
    h("button.primary", { type: "submit", disabled: attemptsLeft === 0 }, t("quiz.submit")));

  async function submit(event) {
    event.preventDefault();
    const answers = Object.fromEntries(new FormData(form).entries());
    try {
      const outcome = await api.post(`/assignments/${assignmentId}/briefing/quiz`, { answers });
      for (const fs of form.querySelectorAll("fieldset")) fs.classList.toggle("wrong", outcome.wrong.includes(fs.dataset.question));
      if (outcome.passed) {
        await db.kv.set(`briefing:${assignmentId}`, { ...data, quiz_passed: true, attempts_used: outcome.attempts_used });
        form.replaceWith(h("section.card.quiz#quiz", h("p.ok", "✓ ", t("quiz.passed"), ` (${Math.round(outcome.score_percent)}%)`), startButton));
      } else {
        data.attempts_used = outcome.attempts_used;
        result.replaceChildren(h("p.error", t("quiz.failed", { score: Math.round(outcome.score_percent) })));
      }
    } catch (error) {
      toast(error instanceof api.NetworkError ? t("needsConnection") : error.message, 6000);
    }
  }
  return form;
}
