// The student page: consent, the camera, and answering the server's prompts with frames.
import { api, lessonIdFromPath, requireSession, showSignedIn, signInAgain } from "./api.js";
import { cameraProblem, grabJpeg, startCamera, stopCamera } from "./camera.js";
import { $, el, notice, setText, show } from "./dom.js";
import { joinLesson } from "./live.js";
import { showMyChecks } from "./mychecks.js";
import { CHALLENGE_WORDS, REFUSALS, STUDENT_OUTCOME } from "./words.js";

// Time to read the instruction (and to turn, for a challenge) before the first picture.
const FIRST_SHOT_MS = { none: 1500, turn_left: 2500, turn_right: 2500 };
// Time to read a hint and adjust before the next picture of the same prompt.
const RETRY_MS = 1500;
// No picture is started with less time left than this.
const LAST_SHOT_MS = 800;
const ACK_GRACE_MS = 5000;

const ui = {
  title: $("#lesson-title"),
  course: $("#course-title"),
  who: $("#who"),
  signOut: $("#sign-out"),
  connection: $("#connection"),
  message: $("#page-message"),
  consent: $("#consent"),
  consentPoints: $("#consent-points"),
  consentYes: $("#consent-yes"),
  consentNo: $("#consent-no"),
  live: $("#live"),
  video: $("#preview"),
  previewBox: $("#preview-box"),
  cameraMessage: $("#camera-message"),
  cameraText: $("#camera-text"),
  cameraRetry: $("#camera-retry"),
  prompt: $("#prompt"),
  instruction: $("#prompt-instruction"),
  countdown: $("#prompt-countdown"),
  progress: $("#prompt-progress"),
  step: $("#prompt-step"),
  myState: $("#my-state"),
  hint: $("#hint"),
  counts: $("#counts"),
  certificateBox: $("#certificate-box"),
  certificate: $("#certificate"),
  certificateMessage: $("#certificate-message"),
};

const lessonId = lessonIdFromPath();
const auth = requireSession();
const consentKey = `tl.consent.${lessonId}`;
const state = {
  lesson: null,
  stream: null,
  camera: "unknown",
  link: null,
  prompt: null,
  ended: false,
  tick: null,
  resolved: new Map(), // prompt id -> passed | failed | missed, seen on this page
};

// -- what the page shows ------------------------------------------------------------------

function setConnection(kind, text) {
  ui.connection.dataset.kind = kind;
  setText(ui.connection, text);
}

function setMyState(kind, text) {
  ui.myState.dataset.state = kind;
  setText(ui.myState, text);
}

function setHint(hint) {
  setText(ui.hint, hint ? `Tip: ${hint}` : "");
  show(ui.hint, Boolean(hint));
}

function cameraMessage(text, button = "Try again") {
  show(ui.previewBox, !text && Boolean(state.stream));
  setText(ui.cameraText, text);
  setText(ui.cameraRetry, button);
  show(ui.cameraMessage, Boolean(text));
}

function duration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} seconds`;
  return `${Math.round(seconds / 60)} minutes`;
}

function span(low, high) {
  if (high < 90) return `${Math.round(low)} to ${Math.round(high)} seconds`;
  if (low >= 90) return `${Math.round(low / 60)} to ${Math.round(high / 60)} minutes`;
  return `${duration(low)} to ${duration(high)}`;
}

/** The consent notice, from the course's policy (what is captured, when, what is kept). */
function consentPoints(policy) {
  const points = [
    "What is captured: when a check arrives, this page takes one still picture from your " +
      "camera and sends it to the lesson server. No video and no sound are recorded.",
  ];
  if (policy) {
    points.push(
      `When: only while this page is open during the live lesson — about every ` +
        `${span(policy.interval_min_s, policy.interval_max_s)}, at ` +
        `moments you cannot predict, and when your tutor asks. You see a countdown each ` +
        `time and have ${duration(policy.deadline_s)} to answer.`,
    );
    const days = `${policy.retention_days} day${policy.retention_days === 1 ? "" : "s"}`;
    const kept = {
      none:
        "What is kept: the picture is checked in memory and then thrown away. Only the " +
        "result (for example “face seen”) and a fingerprint of the picture (SHA-256) are " +
        "stored — never the picture.",
      failures:
        "What is kept: the result and a fingerprint of each picture (SHA-256). When a " +
        `check fails, a small thumbnail (at most 160 pixels) is also kept for ${days} so ` +
        "your tutor can review it, then deleted.",
      all:
        "What is kept: the result, a fingerprint of each picture (SHA-256) and a small " +
        `thumbnail of it (at most 160 pixels), kept for ${days} so your tutor can review ` +
        "it, then deleted.",
    };
    points.push(kept[policy.evidence] ?? kept.none);
  } else {
    points.push(
      "When: only while this page is open during the live lesson, at moments you cannot " +
        "predict. You see a countdown each time.",
      "What is kept: this course's evidence settings could not be loaded — ask your tutor " +
        "whether pictures are kept.",
    );
  }
  points.push(
    "Who sees it: your tutor sees your status live; your tutor and the school's admins " +
      "see the attendance report.",
  );
  ui.consentPoints.replaceChildren(...points.map((text) => el("li", { text })));
}

async function refreshCounts() {
  try {
    const report = await api(`/api/lessons/${lessonId}/attendance/me`);
    const line = report.students?.[0];
    if (line) {
      const c = line.checks;
      setText(
        ui.counts,
        `Checks in this lesson: ${c.passed} passed · ${c.failed} failed · ${c.missed} missed`,
      );
      return;
    }
  } catch {
    // fall back to what this page has seen
  }
  const seen = { passed: 0, failed: 0, missed: 0 };
  for (const status of state.resolved.values()) seen[status] = (seen[status] ?? 0) + 1;
  setText(
    ui.counts,
    `Checks since you opened this page: ${seen.passed} passed · ${seen.failed} failed · ` +
      `${seen.missed} missed`,
  );
}

// -- the camera ---------------------------------------------------------------------------

async function openCamera() {
  cameraMessage("");
  try {
    state.stream = await startCamera(ui.video);
    state.camera = "ok";
    cameraMessage("");
    for (const track of state.stream.getVideoTracks()) {
      track.addEventListener("ended", () => {
        state.camera = "unavailable";
        cameraMessage("The camera stopped (was it unplugged?). Connect it, then press Try again.");
        reportCamera();
      });
    }
  } catch (error) {
    const problem = cameraProblem(error);
    state.camera = problem.state;
    cameraMessage(problem.message);
  }
  reportCamera();
  if (state.camera === "ok" && state.prompt && !state.prompt.done) {
    setText(ui.instruction, CHALLENGE_WORDS[state.prompt.challenge] ?? CHALLENGE_WORDS.none);
    scheduleShot(state.prompt, FIRST_SHOT_MS[state.prompt.challenge] ?? 1500);
  }
}

function reportCamera() {
  const socket = state.link?.socket;
  if (socket?.connected && state.camera !== "unknown") {
    socket.emit("camera", { state: state.camera });
  }
}

// -- prompts ------------------------------------------------------------------------------

function onPrompt(data) {
  if (state.ended || !data || typeof data.prompt_id !== "string") return;
  const deadlineAt = performance.now() + Math.max(0, Number(data.deadline_ms) || 0);
  const current = state.prompt;
  if (current && current.id === data.prompt_id) {
    // The same prompt again after a reconnect: keep going, with the server's time left.
    current.deadlineAt = deadlineAt;
    if (!current.done && !current.sending && !current.timer) scheduleShot(current, 0);
    return;
  }
  clearPrompt();
  const prompt = {
    id: data.prompt_id,
    challenge: data.challenge in CHALLENGE_WORDS ? data.challenge : "none",
    deadlineAt,
    total: Math.max(1, Number(data.deadline_ms) || 1),
    maxFrames: Math.max(1, Number(data.max_frames) || 1),
    sent: 0,
    timer: null,
    sending: false,
    done: false,
  };
  state.prompt = prompt;
  show(ui.prompt, true);
  setHint("");
  setMyState("checking", "Check in progress");
  if (state.camera === "ok") {
    setText(ui.instruction, CHALLENGE_WORDS[prompt.challenge]);
    setText(ui.step, "Get ready — a picture is taken in a moment.");
    scheduleShot(prompt, FIRST_SHOT_MS[prompt.challenge]);
  } else {
    setText(
      ui.instruction,
      "Your camera is off, so this check cannot be answered. Turn it on below.",
    );
    setText(ui.step, "");
  }
  tickCountdown();
  state.tick = setInterval(tickCountdown, 200);
}

function tickCountdown() {
  const prompt = state.prompt;
  if (!prompt) return;
  const left = Math.max(0, prompt.deadlineAt - performance.now());
  setText(ui.countdown, String(Math.ceil(left / 1000)));
  ui.progress.value = Math.round((1000 * left) / prompt.total);
  if (left <= 0 && !prompt.done && !prompt.sending) {
    setText(ui.step, "Time is up — waiting for the result.");
  }
}

function scheduleShot(prompt, delay) {
  clearTimeout(prompt.timer);
  const left = prompt.deadlineAt - performance.now();
  const wait = Math.max(0, Math.min(delay, left - LAST_SHOT_MS));
  prompt.timer = setTimeout(() => {
    prompt.timer = null;
    sendFrame(prompt);
  }, wait);
}

async function sendFrame(prompt) {
  const socket = state.link?.socket;
  if (prompt !== state.prompt || prompt.done || prompt.sending) return;
  if (state.camera !== "ok" || !socket?.connected) return; // resumed on reconnect / camera on
  if (prompt.deadlineAt - performance.now() < LAST_SHOT_MS / 2) return;
  if (prompt.sent >= prompt.maxFrames) return;
  prompt.sending = true;
  const picture = prompt.maxFrames > 1 ? ` ${prompt.sent + 1} of ${prompt.maxFrames}` : "";
  setText(ui.step, `Taking picture${picture}…`);
  let reply = null;
  try {
    const image = await grabJpeg(ui.video);
    setText(ui.step, "Checking the picture…");
    prompt.sent += 1;
    const left = Math.max(0, prompt.deadlineAt - performance.now());
    reply = await socket.timeout(left + ACK_GRACE_MS).emitWithAck("capture", {
      prompt_id: prompt.id,
      image,
    });
  } catch (error) {
    // No picture (the camera stalled) or no answer (the connection dropped): try again
    // while there is time; a reconnect re-sends the prompt.
    setText(ui.step, `No answer yet (${error.message || "connection problem"}).`);
  } finally {
    prompt.sending = false;
  }
  if (prompt !== state.prompt || prompt.done) return;
  if (!reply) {
    scheduleShot(prompt, RETRY_MS);
    return;
  }
  // The server's count is the one that matters (a frame it could not judge costs nothing).
  if (Number.isInteger(reply.attempts_left)) prompt.sent = prompt.maxFrames - reply.attempts_left;
  showVerdict(reply);
  if (reply.final) {
    finishPrompt(prompt, reply);
  } else {
    scheduleShot(prompt, RETRY_MS);
  }
}

function showVerdict(reply) {
  const words = STUDENT_OUTCOME[reply.outcome] ?? String(reply.outcome ?? "");
  setHint(reply.hint);
  if (reply.outcome === "present") {
    setMyState("verified", "Verified ✓ — you are checked in.");
  } else if (!reply.final && reply.attempts_left > 0) {
    const n = reply.attempts_left;
    setMyState("checking", `${words} Trying again — ${n} ${n === 1 ? "try" : "tries"} left.`);
  } else if (reply.outcome === "missed") {
    setMyState("flagged", words);
  } else {
    setMyState("flagged", `Not verified: ${words}`);
  }
}

function finishPrompt(prompt, reply) {
  prompt.done = true;
  if (reply?.status && !state.resolved.has(prompt.id)) {
    state.resolved.set(prompt.id, reply.status);
    refreshCounts();
  }
  if (prompt === state.prompt) clearPrompt();
}

function clearPrompt() {
  const prompt = state.prompt;
  if (prompt) clearTimeout(prompt.timer);
  clearInterval(state.tick);
  state.tick = null;
  state.prompt = null;
  show(ui.prompt, false);
}

function onVerdict(reply) {
  if (!reply || typeof reply.prompt_id !== "string") return;
  showVerdict({ ...reply, final: true });
  if (reply.status && !state.resolved.has(reply.prompt_id)) {
    state.resolved.set(reply.prompt_id, reply.status);
    refreshCounts();
  }
  if (state.prompt?.id === reply.prompt_id) finishPrompt(state.prompt, reply);
}

// -- the lesson ---------------------------------------------------------------------------

function lessonEnded() {
  if (state.ended) return;
  state.ended = true;
  state.link?.stop();
  clearPrompt();
  stopCamera(ui.video, state.stream);
  state.stream = null;
  show(ui.consent, false);
  cameraMessage("");
  setConnection("ended", "Lesson ended");
  notice(ui.message, "The lesson has ended. Thank you — your checks are below.", "info");
  if (!["verified", "flagged"].includes(ui.myState.dataset.state)) {
    setMyState("ended", "No more checks: the lesson is over.");
  }
  refreshCounts();
  showMyChecks(lessonId);
  offerCertificate();
}

// -- the certificate ----------------------------------------------------------------------

function offerCertificate() {
  show(ui.certificateBox, true);
}

async function downloadCertificate() {
  setText(ui.certificateMessage, "Preparing…");
  ui.certificate.disabled = true;
  try {
    const response = await api(`/api/lessons/${lessonId}/attendance/me/certificate.pdf`, {
      raw: true,
    });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `certificate-${lessonId}.pdf` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    setText(ui.certificateMessage, "Downloaded. Anyone can check it at /verify.");
  } catch (error) {
    setText(ui.certificateMessage, `The certificate could not be made: ${error.message}`);
  } finally {
    ui.certificate.disabled = false;
  }
}

ui.certificate.addEventListener("click", downloadCertificate);

function refused(code, message) {
  if (code === "unauthorized") {
    signInAgain();
    return false;
  }
  if (code === "lesson_not_live") {
    checkStatus();
    setConnection("waiting", "Waiting for the lesson to start");
    return !state.ended;
  }
  if (code === "unavailable") {
    setConnection("reconnecting", REFUSALS.unavailable);
    return true;
  }
  notice(ui.message, REFUSALS[code] ?? message, "error");
  return false;
}

async function checkStatus() {
  try {
    const lesson = await api(`/api/lessons/${lessonId}`);
    if (lesson.status === "ended") lessonEnded();
    else if (lesson.status === "scheduled") {
      notice(
        ui.message,
        "The lesson has not started yet. This page connects by itself when it starts.",
        "info",
      );
    }
  } catch {
    // the next retry tries again
  }
}

function connect() {
  state.link = joinLesson("/student", lessonId, auth.token, {
    onStatus: (kind, text) => {
      if (state.ended) return;
      setConnection(kind, text);
      if (kind === "connected") {
        notice(ui.message, "");
        reportCamera();
      }
    },
    onRefused: refused,
  });
  const socket = state.link.socket;
  socket.on("prompt", onPrompt);
  socket.on("verdict", onVerdict);
  socket.on("lesson_ended", lessonEnded);
}

function begin(consented) {
  show(ui.consent, false);
  show(ui.live, true);
  if (consented) {
    sessionStorage.setItem(consentKey, "yes");
    openCamera();
  } else {
    state.camera = "denied";
    cameraMessage(
      "You chose not to turn on your camera. Your tutor sees that it is off, and checks " +
        "will be missed until you turn it on.",
      "Turn my camera on",
    );
  }
  if (!state.link) connect();
  else reportCamera();
}

async function main() {
  if (!auth) return;
  showSignedIn(auth.user, ui.who, ui.signOut);
  if (!lessonId) {
    notice(ui.message, "This address does not name a lesson.", "error");
    return;
  }
  if (auth.user.role !== "student") {
    notice(ui.message, "This page is for students. ", "info");
    ui.message.append(el("a", { href: `/tutor/lessons/${lessonId}`, text: "Open the dashboard" }));
    return;
  }
  try {
    state.lesson = await api(`/api/lessons/${lessonId}`);
  } catch (error) {
    notice(
      ui.message,
      error.status === 404
        ? "This lesson does not exist, or you are not enrolled in its course."
        : `The lesson could not be loaded: ${error.message}`,
      "error",
    );
    return;
  }
  setText(ui.title, state.lesson.title);
  setText(ui.course, state.lesson.course_title ?? "");
  document.title = `${state.lesson.title} — Trust Lesson Live`;
  if (state.lesson.status === "ended") {
    state.ended = true;
    setConnection("ended", "Lesson ended");
    notice(ui.message, "The lesson has ended.", "info");
    showMyChecks(lessonId);
    offerCertificate();
    return;
  }
  let policy = null;
  try {
    policy = (await api(`/api/courses/${state.lesson.course_id}`)).policy ?? null;
  } catch {
    // the notice says the settings could not be loaded
  }
  consentPoints(policy);
  refreshCounts();
  if (sessionStorage.getItem(consentKey) === "yes") {
    begin(true);
  } else {
    show(ui.consent, true);
    ui.consentYes.focus();
  }
}

ui.consentYes.addEventListener("click", () => begin(true));
ui.consentNo.addEventListener("click", () => begin(false));
ui.cameraRetry.addEventListener("click", () => {
  if (sessionStorage.getItem(consentKey) === "yes") {
    openCamera();
  } else {
    show(ui.live, false);
    show(ui.consent, true);
    ui.consentYes.focus();
  }
});
window.addEventListener("pagehide", () => stopCamera(ui.video, state.stream));
// Back from the browser's page cache the camera is off and the socket stale: start afresh.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});

main();
