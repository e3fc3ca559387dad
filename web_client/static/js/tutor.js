// The tutor's dashboard: the whole class, live, with "check now" and "end lesson".
import { api, lessonIdFromPath, requireSession, showSignedIn, signInAgain } from "./api.js";
import { everyPage } from "./checks.js";
import { $, ago, clock, el, notice, percent, setText, show } from "./dom.js";
import { joinLesson } from "./live.js";
import { CAMERA_WORDS, IDENTITY_LABELS, REFUSALS, STATE_LABELS, STATE_ORDER, outcomeWords } from "./words.js";

const TIMELINE_MAX = 24;
const ACK_MS = 15000;

const ui = {
  title: $("#lesson-title"),
  course: $("#course-title"),
  who: $("#who"),
  signOut: $("#sign-out"),
  connection: $("#connection"),
  message: $("#page-message"),
  cluster: $("#cluster-message"),
  totals: $("#totals"),
  checkAll: $("#check-all"),
  exportCsv: $("#export-csv"),
  start: $("#start-lesson"),
  end: $("#end-lesson"),
  actionStatus: $("#action-status"),
  table: $("#roster"),
  body: $("#roster-body"),
  empty: $("#roster-empty"),
  dialog: $("#end-dialog"),
  endCancel: $("#end-cancel"),
  endConfirm: $("#end-confirm"),
  reviewLink: $("#review-link"),
  reviewCount: $("#review-count"),
};

const lessonId = lessonIdFromPath();
const auth = requireSession();
const state = {
  lesson: null,
  link: null,
  live: false, // connected and the lesson is live
  ended: false,
  students: new Map(), // student id -> { data, row, cells, timeline, earlier }
  historyLoaded: false,
};

// -- the class list -----------------------------------------------------------------------

function resolvedCount(checks) {
  return (checks?.passed ?? 0) + (checks?.failed ?? 0) + (checks?.missed ?? 0);
}

function makeRow(student) {
  const cells = {
    name: el("th", { scope: "row", class: "name" }),
    state: el("td", { class: "state" }),
    camera: el("td", { class: "camera" }),
    identity: el("td", { class: "identity" }),
    last: el("td", { class: "last" }),
    checks: el("td", { class: "checks" }),
    ratio: el("td", { class: "ratio" }),
    timeline: el("td", { class: "timeline-cell" }),
    action: el("td", { class: "action" }),
  };
  const button = el("button", { type: "button", class: "check-one", text: "Check now" });
  button.addEventListener("click", () => checkNow(student.student_id));
  cells.action.append(button);
  const row = el("tr", { dataset: { studentId: student.student_id } }, ...Object.values(cells));
  return { row, cells, button };
}

function renderTimeline(entry) {
  const list = el("ol", { class: "timeline", "aria-label": "Check results, oldest first" });
  if (entry.earlier > 0) {
    list.append(
      el("li", {
        class: "mark earlier",
        text: `+${entry.earlier}`,
        title: `${entry.earlier} earlier result${entry.earlier === 1 ? "" : "s"}`,
      }),
    );
  }
  for (const item of entry.timeline) {
    const symbol = { passed: "✓", failed: "✗", missed: "–", gap: "…" }[item.result];
    const reviewed = REVIEW_WORDS[item.review] ?? "";
    const words =
      item.result === "gap"
        ? `${item.count} result${item.count === 1 ? "" : "s"} while reconnecting`
        : `${item.result}${item.outcome && item.result !== "missed" ? ` (${outcomeWords(item.outcome)})` : ""}` +
          (item.at ? ` at ${clock(item.at)}` : "") +
          reviewed;
    list.append(
      el(
        "li",
        {
          class: `mark ${item.result}${item.review === "accepted" ? " accepted" : ""}`,
          title: words,
          dataset: { outcome: item.outcome ?? "", review: item.review ?? "" },
        },
        el("span", { "aria-hidden": "true", text: symbol }),
        el("span", { class: "visually-hidden", text: words }),
      ),
    );
  }
  return list;
}

const REVIEW_WORDS = {
  pending: " — waiting for review",
  accepted: " — accepted on review",
  upheld: " — upheld on review",
};

function timelineItem(prompt) {
  return {
    result: prompt.status,
    outcome: prompt.frames.at(-1)?.outcome,
    at: prompt.resolved_at,
    promptId: prompt.id,
    review: prompt.review.state === "not_needed" ? undefined : prompt.review.state,
  };
}

/** Every check of the lesson so far, from the server: a dashboard opened late sees them all. */
async function loadHistory() {
  const prompts = await everyPage(api, `/api/lessons/${lessonId}/prompts`);
  const byStudent = new Map();
  for (const p of prompts) {
    if (!["passed", "failed", "missed"].includes(p.status)) continue;
    if (!byStudent.has(p.student_id)) byStudent.set(p.student_id, []);
    byStudent.get(p.student_id).push(timelineItem(p));
  }
  for (const [id, entry] of state.students) {
    const items = byStudent.get(id) ?? [];
    entry.earlier = Math.max(0, items.length - TIMELINE_MAX);
    entry.timeline = items.slice(-TIMELINE_MAX);
    renderStudent(entry);
  }
}

async function refreshReviewCount() {
  try {
    const waiting = await everyPage(api, `/api/lessons/${lessonId}/prompts?needs_review=true`);
    setText(ui.reviewCount, waiting.length ? ` (${waiting.length} waiting)` : "");
    ui.reviewLink.dataset.waiting = String(waiting.length);
  } catch {
    // the count is a convenience; the review page itself says what is waiting
  }
}

function onReview(prompt) {
  if (!prompt || typeof prompt.id !== "string") return;
  refreshReviewCount();
  const entry = state.students.get(prompt.student_id);
  const item = entry?.timeline.find((i) => i.promptId === prompt.id);
  if (item) {
    Object.assign(item, timelineItem(prompt));
    renderStudent(entry);
  } else if (entry) {
    // A result that arrived live (the timeline does not know its prompt yet): reload them all.
    loadHistory().catch(() => {});
  }
}

function renderStudent(entry) {
  const s = entry.data;
  const { cells, row, button } = entry;
  const label = STATE_LABELS[s.state] ?? { symbol: "?", text: String(s.state) };
  row.dataset.state = s.state;
  row.dataset.outcome = s.last_outcome ?? "";
  setText(cells.name, s.name);
  cells.state.replaceChildren(
    el(
      "span",
      { class: `badge state-${s.state}` },
      el("span", { "aria-hidden": "true", text: `${label.symbol} ` }),
      label.text,
    ),
  );
  if (s.last_outcome && (s.state === "flagged" || s.state === "checking")) {
    cells.state.append(el("span", { class: "outcome", text: outcomeWords(s.last_outcome) }));
  }
  setText(cells.camera, CAMERA_WORDS[s.camera] ?? String(s.camera ?? "—"));
  cells.camera.dataset.camera = s.camera ?? "unknown";
  const who = IDENTITY_LABELS[s.identity] ?? IDENTITY_LABELS.not_enrolled;
  cells.identity.dataset.identity = s.identity ?? "not_enrolled";
  cells.identity.replaceChildren(
    el("span", { class: "badge" }, el("span", { "aria-hidden": "true", text: `${who.symbol} ` }), who.text),
  );
  if (s.identity === "pending") {
    // The enrolment picture and the decision are in the list above the class.
    cells.identity.append(
      " ",
      el("a", { href: "#face-review", class: "approve-enrolment", text: "approve enrolment" }),
    );
  }
  cells.last.replaceChildren();
  if (s.last_check_at) {
    cells.last.append(
      el("time", { datetime: s.last_check_at, text: clock(s.last_check_at) }),
      el("span", { class: "muted ago", text: ` (${ago(s.last_check_at)})` }),
    );
    if (s.last_outcome) {
      cells.last.append(el("span", { class: "outcome", text: outcomeWords(s.last_outcome) }));
    }
  } else {
    setText(cells.last, "—");
  }
  const c = s.checks ?? {};
  setText(
    cells.checks,
    `${c.passed ?? 0} of ${c.issued ?? 0} passed · ${c.failed ?? 0} failed · ${c.missed ?? 0} missed`,
  );
  setText(cells.ratio, percent(s.ratio));
  cells.timeline.replaceChildren(renderTimeline(entry));
  button.disabled = !state.live || !s.connected || s.state === "checking";
  button.setAttribute("aria-label", `Check ${s.name} now`);
}

/** Turn the change in a student's counts into timeline entries. */
function extendTimeline(entry, next) {
  const before = entry.data.checks ?? {};
  const after = next.checks ?? {};
  for (const result of ["passed", "failed", "missed"]) {
    const added = (after[result] ?? 0) - (before[result] ?? 0);
    for (let i = 0; i < added; i++) {
      entry.timeline.push({ result, outcome: next.last_outcome, at: next.last_check_at });
    }
  }
  const overflow = entry.timeline.length - TIMELINE_MAX;
  if (overflow > 0) {
    entry.earlier += entry.timeline
      .splice(0, overflow)
      .reduce((n, item) => n + (item.result === "gap" ? item.count : 1), 0);
  }
}

function upsert(student, { fromRoster = false } = {}) {
  let entry = state.students.get(student.student_id);
  if (!entry) {
    entry = {
      ...makeRow(student),
      data: student,
      timeline: [],
      // Results from before this page opened: counted, not placed on the timeline.
      earlier: resolvedCount(student.checks),
    };
    state.students.set(student.student_id, entry);
    ui.body.append(entry.row);
  } else if (fromRoster) {
    // After a reconnect: results that came while we were away, as one gap mark.
    const missing = resolvedCount(student.checks) - resolvedCount(entry.data.checks);
    if (missing > 0) entry.timeline.push({ result: "gap", count: missing });
  } else {
    extendTimeline(entry, student);
  }
  entry.data = student;
  renderStudent(entry);
}

function renderTotals() {
  const counts = Object.fromEntries(STATE_ORDER.map((s) => [s, 0]));
  for (const { data } of state.students.values()) counts[data.state] = (counts[data.state] ?? 0) + 1;
  const total = state.students.size;
  const parts = STATE_ORDER.filter((s) => counts[s] > 0).map(
    (s) => `${counts[s]} ${STATE_LABELS[s].text.toLowerCase()}`,
  );
  setText(ui.totals, total ? `${total} student${total === 1 ? "" : "s"}: ${parts.join(" · ")}` : "");
  show(ui.empty, total === 0 && state.live);
}

// Part of the class is on a server this one cannot reach now: their rows may be out of date.
const UNREACHABLE =
  "Some students are on a server that cannot be reached now: their rows may be out of date " +
  "until it is back. Students on this server are checked as usual.";

function setReachable(reachable) {
  notice(ui.cluster, reachable ? "" : UNREACHABLE, "warn");
}

function onCluster(message) {
  // Back again: the class list follows, and clears the notice.
  if (message && message.reachable === false) setReachable(false);
}

function onRoster(roster) {
  if (!roster || !Array.isArray(roster.students)) return;
  setReachable(roster.unreachable !== true);
  const present = new Set();
  for (const student of roster.students) {
    present.add(student.student_id);
    upsert(student, { fromRoster: true });
  }
  for (const [id, entry] of state.students) {
    if (!present.has(id)) {
      entry.row.remove();
      state.students.delete(id);
    }
  }
  // Keep the server's order (by name).
  for (const student of roster.students) ui.body.append(state.students.get(student.student_id).row);
  ui.table.removeAttribute("aria-busy");
  renderTotals();
  if (!state.historyLoaded) {
    state.historyLoaded = true;
    loadHistory().catch(() => {
      state.historyLoaded = false; // try again with the next class list
    });
  }
}

function flaggedCount(checks) {
  return (checks?.failed ?? 0) + (checks?.missed ?? 0);
}

function onAttendance(student) {
  if (!student || typeof student.student_id !== "string") return;
  const before = state.students.get(student.student_id)?.data.checks;
  // A new failed or missed check waits for review.
  if (flaggedCount(student.checks) > flaggedCount(before)) refreshReviewCount();
  upsert(student);
  renderTotals();
}

function refreshAgo() {
  for (const { data, cells } of state.students.values()) {
    const span = cells.last.querySelector(".ago");
    if (span && data.last_check_at) setText(span, ` (${ago(data.last_check_at)})`);
  }
}

// -- actions ------------------------------------------------------------------------------

function setLive(live) {
  state.live = live && !state.ended;
  ui.checkAll.disabled = !state.live;
  ui.end.disabled = !state.live;
  for (const entry of state.students.values()) renderStudent(entry);
}

async function checkNow(studentId) {
  const socket = state.link?.socket;
  if (!socket?.connected) return;
  const name = studentId ? state.students.get(studentId)?.data.name : null;
  try {
    const ack = await socket
      .timeout(ACK_MS)
      .emitWithAck("check_now", studentId ? { student_id: studentId } : {});
    const issued = ack?.issued ?? 0;
    if (ack?.unreachable) setReachable(false);
    if (ack?.error) setText(ui.actionStatus, `No check sent: ${ack.error}`);
    else if (ack?.unreachable) {
      setText(
        ui.actionStatus,
        `Sent ${issued} check${issued === 1 ? "" : "s"} to students on this server; ` +
          "students on a server that cannot be reached now were not checked.",
      );
    } else if (studentId) {
      setText(
        ui.actionStatus,
        issued
          ? `Check sent to ${name}.`
          : `No check sent: ${name} is offline or already being checked.`,
      );
    } else {
      setText(
        ui.actionStatus,
        issued
          ? `Sent ${issued} check${issued === 1 ? "" : "s"}.`
          : "No check sent: no connected student is free to check.",
      );
    }
  } catch {
    setText(ui.actionStatus, "The server did not answer. Try again.");
  }
}

async function endLesson() {
  ui.dialog.close();
  ui.endConfirm.disabled = true;
  try {
    const socket = state.link?.socket;
    if (socket?.connected) {
      const ack = await socket.timeout(ACK_MS).emitWithAck("end_lesson", {});
      if (!ack?.ok) throw new Error(ack?.error || "the server refused");
    } else {
      await api(`/api/lessons/${lessonId}/end`, { method: "POST" });
    }
    lessonEnded();
  } catch (error) {
    setText(ui.actionStatus, `The lesson could not be ended: ${error.message}`);
  } finally {
    ui.endConfirm.disabled = false;
  }
}

async function exportCsv() {
  setText(ui.actionStatus, "Preparing the attendance report…");
  try {
    const response = await api(`/api/lessons/${lessonId}/attendance.csv`, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `attendance-${lessonId}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    setText(ui.actionStatus, "Attendance report downloaded.");
  } catch (error) {
    setText(
      ui.actionStatus,
      error.status === 404
        ? "The attendance report is not available on this server."
        : `The report could not be downloaded: ${error.message}`,
    );
  }
}

async function startLesson() {
  try {
    state.lesson = await api(`/api/lessons/${lessonId}/start`, { method: "POST" });
    show(ui.start, false);
    notice(ui.message, "");
    if (!state.link) connect();
  } catch (error) {
    notice(ui.message, `The lesson could not be started: ${error.message}`, "error");
  }
}

// -- the connection -----------------------------------------------------------------------

function lessonEnded() {
  if (state.ended) return;
  state.ended = true;
  state.link?.stop();
  setLive(false);
  setConnection("ended", "Lesson ended");
  show(ui.end, false);
  show(ui.checkAll, false);
  notice(
    ui.message,
    "The lesson has ended. Download the attendance report for the final result.",
    "info",
  );
  renderTotals();
}

function setConnection(kind, text) {
  ui.connection.dataset.kind = kind;
  setText(ui.connection, kind === "connected" ? "Live — updates as they happen" : text);
  if (kind === "reconnecting") ui.table.setAttribute("aria-busy", "true");
}

function refused(code, message) {
  if (code === "unauthorized") {
    signInAgain();
    return false;
  }
  if (code === "lesson_not_live") {
    describeStatus();
    return false;
  }
  if (code === "unavailable") {
    setConnection("reconnecting", REFUSALS.unavailable);
    return true;
  }
  notice(
    ui.message,
    code === "forbidden" ? "Only this course's tutor or an admin may watch this lesson." : message,
    "error",
  );
  return false;
}

async function describeStatus() {
  try {
    state.lesson = await api(`/api/lessons/${lessonId}`);
  } catch {
    return;
  }
  if (state.lesson.status === "ended") {
    lessonEnded();
  } else if (state.lesson.status === "scheduled") {
    state.link?.stop();
    state.link = null;
    setConnection("closed", "Not started");
    notice(ui.message, "This lesson has not started yet.", "info");
    show(ui.start, true);
    ui.start.focus();
  }
}

function connect() {
  state.link = joinLesson("/tutor", lessonId, auth.token, {
    onStatus: (kind, text) => {
      if (state.ended) return;
      setConnection(kind, text);
      setLive(kind === "connected");
      if (kind === "connected") notice(ui.message, "");
      if (kind === "reconnecting") {
        notice(
          ui.message,
          "Reconnecting… the class list may be out of date until the connection is back.",
          "warn",
        );
      }
    },
    onRefused: refused,
  });
  const socket = state.link.socket;
  socket.on("roster", onRoster);
  socket.on("cluster", onCluster);
  socket.on("attendance", onAttendance);
  socket.on("lesson_ended", lessonEnded);
  socket.on("review", onReview);
}

async function main() {
  if (!auth) return;
  showSignedIn(auth.user, ui.who, ui.signOut);
  if (!lessonId) {
    notice(ui.message, "This address does not name a lesson.", "error");
    return;
  }
  if (auth.user.role === "student") {
    notice(ui.message, "The dashboard is for tutors. ", "info");
    ui.message.append(el("a", { href: `/student/lessons/${lessonId}`, text: "Join the lesson" }));
    return;
  }
  try {
    state.lesson = await api(`/api/lessons/${lessonId}`);
  } catch (error) {
    notice(
      ui.message,
      error.status === 404
        ? "This lesson does not exist, or it is not one of your courses."
        : `The lesson could not be loaded: ${error.message}`,
      "error",
    );
    return;
  }
  setText(ui.title, state.lesson.title);
  setText(ui.course, state.lesson.course_title ?? "");
  document.title = `${state.lesson.title} — dashboard — Trust Lesson Live`;
  ui.reviewLink.href = `/tutor/lessons/${lessonId}/review`;
  refreshReviewCount();
  if (state.lesson.status === "live") connect();
  else describeStatus();
}

ui.checkAll.addEventListener("click", () => checkNow(null));
ui.end.addEventListener("click", () => ui.dialog.showModal());
ui.endCancel.addEventListener("click", () => ui.dialog.close());
ui.endConfirm.addEventListener("click", endLesson);
ui.exportCsv.addEventListener("click", exportCsv);
ui.start.addEventListener("click", startLesson);
setInterval(refreshAgo, 5000);

main();
