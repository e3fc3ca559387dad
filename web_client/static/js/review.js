// The review page: the lesson's flagged checks, grouped by student with contested ones first;
// each decided with a reason (accept: counts as passed; uphold: the result stands).
import { api, requireSession, showSignedIn } from "./api.js";
import { everyPage, framesList, resultWords, reviewWords, timesLine } from "./checks.js";
import { $, el, notice, setText, show } from "./dom.js";
import { joinLesson } from "./live.js";

const POLL_MS = 15000;

const ui = {
  title: $("#lesson-title"),
  course: $("#course-title"),
  who: $("#who"),
  signOut: $("#sign-out"),
  message: $("#page-message"),
  dashboard: $("#dashboard-link"),
  summary: $("#queue-summary"),
  queue: $("#queue"),
  queueEmpty: $("#queue-empty"),
  decided: $("#decided"),
  decidedEmpty: $("#decided-empty"),
};

const match = location.pathname.match(/\/lessons\/([0-9a-fA-F-]{36})\/review\/?$/);
const lessonId = match ? match[1].toLowerCase() : null;
const auth = requireSession();
const prompts = new Map(); // prompt id -> prompt, only those that can be reviewed
const drafts = new Map(); // prompt id -> reason being typed, kept across re-renders
const images = new Map(); // check id -> object URL of its thumbnail, fetched once

// -- rendering ----------------------------------------------------------------------------

function thumbnail(prompt) {
  const frame = [...prompt.frames].reverse().find((f) => f.has_thumbnail);
  if (!frame) return null;
  const img = el("img", { class: "evidence", alt: `Evidence kept for ${prompt.student_name}'s check` });
  if (!images.has(frame.check_id)) {
    images.set(
      frame.check_id,
      api(`/api/checks/${frame.check_id}/thumbnail`, { raw: true })
        .then((response) => response.blob())
        .then((blob) => URL.createObjectURL(blob)),
    );
  }
  images
    .get(frame.check_id)
    .then((url) => {
      img.src = url;
    })
    .catch(() => img.replaceWith(el("p", { class: "muted", text: "The thumbnail has been purged." })));
  return img;
}

function decisionForm(prompt) {
  const id = `reason-${prompt.id}`;
  const reason = el("textarea", {
    id,
    rows: 2,
    maxlength: 2000,
    required: true,
    "aria-describedby": `status-${prompt.id}`,
  });
  reason.value = drafts.get(prompt.id) ?? "";
  reason.addEventListener("input", () => drafts.set(prompt.id, reason.value));
  const status = el("p", { id: `status-${prompt.id}`, class: "muted", role: "status" });
  const decide = async (decision) => {
    if (!reason.value.trim()) {
      setText(status, "Write the reason for your decision first.");
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    reason.removeAttribute("aria-invalid");
    for (const b of buttons) b.disabled = true;
    try {
      const updated = await api(`/api/prompts/${prompt.id}/review`, {
        method: "POST",
        body: { decision, reason: reason.value.trim() },
      });
      drafts.delete(prompt.id);
      upsert(updated);
      render();
      setText(ui.summary, `${summary()} — decision saved for ${updated.student_name}.`);
    } catch (error) {
      setText(status, `The decision was not saved: ${error.message}`);
      for (const b of buttons) b.disabled = false;
    }
  };
  const buttons = [
    el("button", {
      type: "button",
      class: "primary",
      text: "Accept — count as passed",
      onclick: () => decide("accept"),
    }),
    el("button", { type: "button", text: "Uphold the result", onclick: () => decide("uphold") }),
  ];
  return el(
    "div",
    { class: "decide" },
    el("label", { for: id, text: prompt.review.decision ? "Reason for a new decision" : "Reason" }),
    reason,
    el("div", { class: "actions" }, buttons),
    status,
  );
}

function promptCard(prompt) {
  const review = reviewWords(prompt);
  return el(
    "article",
    {
      class: "card check",
      dataset: { promptId: prompt.id, state: prompt.review.state, contested: prompt.contest ? "yes" : "no" },
      "aria-label": `${prompt.student_name}: ${resultWords(prompt)}`,
    },
    el("h4", { text: resultWords(prompt) }),
    timesLine(prompt),
    framesList(prompt),
    thumbnail(prompt),
    prompt.contest
      ? el(
          "blockquote",
          { class: "contest" },
          el("strong", { text: `${prompt.student_name} says: ` }),
          prompt.contest.message,
        )
      : null,
    review ? el("p", { class: "review-state", text: review }) : null,
    decisionForm(prompt),
  );
}

function byContestThenTime(a, b) {
  return Number(Boolean(b.contest)) - Number(Boolean(a.contest)) || a.issued_at.localeCompare(b.issued_at);
}

function groups(list) {
  const byStudent = new Map();
  for (const p of list) {
    if (!byStudent.has(p.student_id)) byStudent.set(p.student_id, []);
    byStudent.get(p.student_id).push(p);
  }
  const result = [...byStudent.values()].map((items) => items.sort(byContestThenTime));
  // Students with a contested check first, then by name.
  return result.sort(
    (a, b) =>
      Number(b.some((p) => p.contest)) - Number(a.some((p) => p.contest)) ||
      a[0].student_name.localeCompare(b[0].student_name),
  );
}

function renderGroups(container, list) {
  container.replaceChildren(
    ...groups(list).map((items) =>
      el(
        "section",
        { class: "student-group", dataset: { studentId: items[0].student_id } },
        el("h3", { text: `${items[0].student_name} (${items.length})` }),
        items.map(promptCard),
      ),
    ),
  );
}

function summary() {
  const waiting = [...prompts.values()].filter((p) => p.needs_review);
  const contested = waiting.filter((p) => p.contest).length;
  if (waiting.length === 0) return "Nothing waiting for a decision.";
  return `${waiting.length} waiting${contested ? `, ${contested} contested` : ""}`;
}

function render() {
  const focused = document.activeElement;
  const active = focused?.id;
  const caret = focused?.tagName === "TEXTAREA" ? [focused.selectionStart, focused.selectionEnd] : null;
  const all = [...prompts.values()];
  const waiting = all.filter((p) => p.needs_review);
  const decided = all.filter((p) => !p.needs_review);
  renderGroups(ui.queue, waiting);
  renderGroups(ui.decided, decided);
  show(ui.queueEmpty, waiting.length === 0);
  show(ui.decidedEmpty, decided.length === 0);
  setText(ui.summary, summary());
  const again = active ? document.getElementById(active) : null;
  if (again) {
    again.focus();
    if (caret) again.setSelectionRange(...caret);
  }
}

function upsert(prompt) {
  if (prompt?.reviewable) prompts.set(prompt.id, prompt);
}

// -- loading ------------------------------------------------------------------------------

async function load() {
  const all = await everyPage(api, `/api/lessons/${lessonId}/prompts`);
  const before = JSON.stringify([...prompts.values()]);
  prompts.clear();
  for (const p of all) upsert(p);
  // Redraw only when something changed: a reason being typed is left alone.
  if (JSON.stringify([...prompts.values()]) !== before || !ui.summary.textContent) render();
}

function listen(lesson) {
  if (lesson.status !== "live") {
    setInterval(() => load().catch(() => {}), POLL_MS);
    return;
  }
  const link = joinLesson("/tutor", lessonId, auth.token, {
    onStatus: () => {},
    onRefused: (code) => {
      if (code === "lesson_not_live") {
        link.stop();
        setInterval(() => load().catch(() => {}), POLL_MS);
      }
      return false;
    },
  });
  link.socket.on("review", (prompt) => {
    upsert(prompt);
    render();
  });
  link.socket.on("lesson_ended", () => {
    link.stop();
    setInterval(() => load().catch(() => {}), POLL_MS);
  });
}

async function main() {
  if (!auth) return;
  showSignedIn(auth.user, ui.who, ui.signOut);
  if (!lessonId) {
    notice(ui.message, "This address does not name a lesson.", "error");
    return;
  }
  ui.dashboard.href = `/tutor/lessons/${lessonId}`;
  if (auth.user.role === "student") {
    notice(ui.message, "Reviews are decided by the course's tutor.", "info");
    return;
  }
  let lesson;
  try {
    lesson = await api(`/api/lessons/${lessonId}`);
    await load();
  } catch (error) {
    notice(
      ui.message,
      error.status === 404
        ? "This lesson does not exist, or it is not one of your courses."
        : `The checks could not be loaded: ${error.message}`,
      "error",
    );
    return;
  }
  setText(ui.title, `Review checks — ${lesson.title}`);
  setText(ui.course, lesson.course_title ?? "");
  document.title = `Review — ${lesson.title} — Trust Lesson Live`;
  listen(lesson);
}

main();
