// "Your checks": after a lesson, each of the student's checks with its result, hints and
// review, and a "This is wrong" button that opens the contest form.
import { api } from "./api.js";
import { everyPage, framesList, resultWords, reviewWords, timesLine } from "./checks.js";
import { $, dateTime, el, setText, show } from "./dom.js";

const REFRESH_MS = 10000;
const ATTENDANCE_WORDS = { present: "Present", partial: "Partly present", absent: "Absent" };

const ui = {
  section: $("#my-checks"),
  attendance: $("#my-attendance"),
  list: $("#my-checks-list"),
  empty: $("#my-checks-empty"),
};

let lessonId = null;
let writing = false; // a contest form is open: do not redraw under the student's hands
let timer = null;

function contestForm(prompt, item, opener) {
  const id = `contest-${prompt.id}`;
  const message = el("textarea", { id, rows: 3, maxlength: 2000, required: true });
  const status = el("p", { class: "muted", role: "status" });
  const send = el("button", { type: "submit", class: "primary", text: "Send to my tutor" });
  const cancel = el("button", { type: "button", text: "Cancel" });
  const form = el(
    "form",
    { class: "contest-form" },
    el("label", { for: id, text: "What happened? Your tutor reads this." }),
    message,
    el("div", { class: "actions" }, send, cancel),
    status,
  );
  const close = () => {
    writing = false;
    form.remove();
    show(opener, true);
    opener.focus();
  };
  cancel.addEventListener("click", close);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!message.value.trim()) {
      setText(status, "Write what happened first.");
      message.setAttribute("aria-invalid", "true");
      message.focus();
      return;
    }
    send.disabled = true;
    try {
      await api(`/api/prompts/${prompt.id}/contest`, {
        method: "POST",
        body: { message: message.value.trim() },
      });
      writing = false;
      await refresh();
      ui.list.querySelector(`[data-prompt-id="${prompt.id}"]`)?.focus();
    } catch (error) {
      setText(status, `Not sent: ${error.message}`);
      send.disabled = false;
    }
  });
  item.append(form);
  message.focus();
}

function checkItem(prompt) {
  const item = el(
    "li",
    { tabindex: "-1", dataset: { promptId: prompt.id, status: prompt.status, review: prompt.review.state } },
    el("strong", { class: "result", text: resultWords(prompt) }),
    timesLine(prompt),
    framesList(prompt),
  );
  if (prompt.contest) {
    item.append(el("p", { class: "contest", text: `You wrote: ${prompt.contest.message}` }));
  }
  const review = reviewWords(prompt, { student: true });
  if (review && (prompt.contest || prompt.review.state !== "pending")) {
    item.append(el("p", { class: "review-state", text: review }));
  }
  if (prompt.contestable) {
    const opener = el("button", { type: "button", text: "This is wrong" });
    opener.setAttribute("aria-label", `This is wrong: ${resultWords(prompt)}`);
    opener.addEventListener("click", () => {
      writing = true;
      show(opener, false);
      contestForm(prompt, item, opener);
    });
    item.append(opener);
    if (prompt.contest_deadline) {
      item.append(
        el("p", { class: "muted", text: `You can say so until ${dateTime(prompt.contest_deadline)}.` }),
      );
    }
  } else if (!prompt.contest && prompt.contest_deadline && prompt.review.state === "pending") {
    item.append(
      el("p", { class: "muted", text: `The time to contest ended ${dateTime(prompt.contest_deadline)}.` }),
    );
  }
  return item;
}

async function refresh() {
  if (writing) return;
  const [prompts, report] = await Promise.all([
    everyPage(api, `/api/lessons/${lessonId}/prompts/me`),
    api(`/api/lessons/${lessonId}/attendance/me`),
  ]);
  if (writing) return;
  const mine = prompts.filter((p) => p.status !== "cancelled" && p.status !== "pending");
  ui.list.replaceChildren(...mine.map(checkItem));
  show(ui.empty, mine.length === 0);
  const line = report.students[0];
  if (line) {
    setText(ui.attendance, `Attendance for this lesson: ${ATTENDANCE_WORDS[line.status] ?? line.status}`);
    ui.attendance.dataset.status = line.status;
  }
}

/** Show the section and keep it current (a decision shows when it comes). */
export async function showMyChecks(id) {
  lessonId = id;
  show(ui.section, true);
  try {
    await refresh();
  } catch (error) {
    setText(ui.attendance, `Your checks could not be loaded: ${error.message}`);
  }
  if (!timer) timer = setInterval(() => refresh().catch(() => {}), REFRESH_MS);
}
