// The login page: sign in, then the caller's live and upcoming lessons.
import { api, ApiError, safeNext, saveSession, session, signOut } from "./api.js";
import { $, dateTime, el, notice, setText, show } from "./dom.js";

const ui = {
  login: $("#login"),
  form: $("#login-form"),
  email: $("#email"),
  password: $("#password"),
  error: $("#login-error"),
  submit: $("#login-submit"),
  account: $("#account"),
  who: $("#who"),
  signOut: $("#sign-out"),
  lessons: $("#lessons"),
  message: $("#lessons-message"),
  live: $("#live-list"),
  liveEmpty: $("#live-empty"),
  upcoming: $("#upcoming-list"),
  upcomingEmpty: $("#upcoming-empty"),
  more: $("#more"),
  past: $("#past-list"),
  pastEmpty: $("#past-empty"),
};

const next = safeNext(new URLSearchParams(location.search).get("next"));
let cursor = null;

function loginError(text) {
  notice(ui.error, text, "error");
  ui.email.setAttribute("aria-invalid", text ? "true" : "false");
  ui.password.setAttribute("aria-invalid", text ? "true" : "false");
}

async function signIn(event) {
  event.preventDefault();
  const email = ui.email.value.trim();
  const password = ui.password.value;
  if (!email || !password) {
    loginError("Enter your email and your password.");
    (email ? ui.password : ui.email).focus();
    return;
  }
  loginError("");
  ui.submit.disabled = true;
  setText(ui.submit, "Signing in…");
  try {
    const login = await api("/api/auth/login", { method: "POST", body: { email, password } });
    saveSession(login);
    ui.password.value = "";
    if (next) {
      location.assign(next);
      return;
    }
    await showLessons();
  } catch (error) {
    const text =
      error instanceof ApiError && error.status === 401
        ? "Wrong email or password."
        : error instanceof ApiError && error.status === 422
          ? `Check what you typed: ${error.message}`
          : error.message;
    loginError(text);
    ui.password.select();
  } finally {
    ui.submit.disabled = false;
    setText(ui.submit, "Sign in");
  }
}

function lessonLink(lesson, role) {
  const student = role === "student";
  const ended = lesson.status === "ended";
  const page = `/${student ? "student" : "tutor"}/lessons/${encodeURIComponent(lesson.id)}`;
  // After the lesson: a student reads their checks, a tutor decides the flagged ones.
  const href = ended && !student ? `${page}/review` : page;
  const when = ended
    ? `ended ${dateTime(lesson.ended_at || lesson.scheduled_end)}`
    : lesson.status === "live"
      ? `live since ${dateTime(lesson.started_at || lesson.scheduled_start)}`
      : `starts ${dateTime(lesson.scheduled_start)}`;
  const action = ended
    ? student
      ? "Your checks"
      : "Review checks"
    : student
      ? "Join"
      : "Open dashboard";
  return el(
    "li",
    { class: "lesson", dataset: { lessonId: lesson.id, status: lesson.status } },
    el(
      "a",
      { href },
      el("span", { class: "lesson-course", text: lesson.course_title ?? "" }),
      el("span", { class: "lesson-title", text: lesson.title }),
    ),
    el("span", { class: `badge status-${lesson.status}`, text: lesson.status }),
    el("span", { class: "muted", text: when }),
    el("span", {
      class: "lesson-action",
      text: action,
      "aria-hidden": "true",
    }),
  );
}

async function loadLessons(role) {
  const query = new URLSearchParams({ status: "live,scheduled", limit: "50" });
  if (cursor) query.set("cursor", cursor);
  const page = await api(`/api/lessons?${query}`);
  const byStart = (a, b) => String(a.scheduled_start).localeCompare(String(b.scheduled_start));
  for (const lesson of [...page.items].sort(byStart)) {
    (lesson.status === "live" ? ui.live : ui.upcoming).append(lessonLink(lesson, role));
  }
  cursor = page.next_cursor;
  show(ui.more, Boolean(cursor));
  show(ui.liveEmpty, ui.live.children.length === 0);
  show(ui.upcomingEmpty, ui.upcoming.children.length === 0);
}

async function loadPast(role) {
  // The most recent first; one page is enough to reach last weeks' lessons.
  const page = await api(`/api/lessons?${new URLSearchParams({ status: "ended", limit: "200" })}`);
  const newest = (a, b) =>
    String(b.ended_at || b.scheduled_end).localeCompare(String(a.ended_at || a.scheduled_end));
  ui.past.replaceChildren(...[...page.items].sort(newest).slice(0, 20).map((l) => lessonLink(l, role)));
  show(ui.pastEmpty, ui.past.children.length === 0);
}

async function showLessons() {
  const { user } = session();
  show(ui.login, false);
  show(ui.lessons, true);
  show(ui.account, true);
  setText(ui.who, `${user.name} (${user.role})`);
  document.title = "Your lessons — Trust Lesson Live";
  ui.live.replaceChildren();
  ui.upcoming.replaceChildren();
  cursor = null;
  try {
    await loadLessons(user.role);
    await loadPast(user.role);
    notice(ui.message, "");
  } catch (error) {
    notice(ui.message, `Your lessons could not be loaded: ${error.message}`, "error");
  }
  const first = ui.lessons.querySelector("a");
  (first ?? $("#lessons-title")).focus?.();
}

ui.form.addEventListener("submit", signIn);
ui.signOut.addEventListener("click", signOut);
ui.more.addEventListener("click", async () => {
  try {
    await loadLessons(session().user.role);
  } catch (error) {
    notice(ui.message, `More lessons could not be loaded: ${error.message}`, "error");
  }
});

if (session()) {
  if (next) location.replace(next);
  else showLessons();
} else {
  ui.email.focus();
}
