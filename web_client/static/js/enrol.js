// Face enrolment on the student page: its own consent, separate from the camera's, then a few
// frames (two facing the camera, one with the head turned: a photo cannot turn) sent once.
// The template is pending until the tutor or an admin approves it; the student can withdraw.
import { api, lessonIdFromPath, session } from "./api.js";
import { grabJpeg, startCamera, stopCamera } from "./camera.js";
import { $, el, notice, setText, show } from "./dom.js";

const STEPS = [
  { turn: "none", say: "Look straight at the camera…", waitMs: 1500 },
  { turn: "none", say: "Keep looking at the camera…", waitMs: 1000 },
  { turn: "left", say: "Now turn your head to your left…", waitMs: 2500 },
];

const STATES = {
  not_enrolled: "Not enrolled: your lessons check that someone is in front of the camera, " +
    "not who it is.",
  pending: "Enrolled, waiting for your tutor to approve it.",
  approved: "Enrolled and approved: checks may compare your face with your enrolment.",
  rejected: "Your enrolment was not approved",
  exempt: "Excused from face comparison by your school.",
};

const NOTICE = [
  "What is computed: from a few camera frames, a face template — 128 numbers that describe " +
    "your face. The frames themselves are not kept (one is shown to your tutor to approve " +
    "the enrolment, then deleted when they decide).",
  "Why: during lessons, some checks compare the face in front of the camera with your " +
    "template, so no one else can attend in your place.",
  "How long: the template is kept until 365 days after your last lesson (or the period your " +
    "school publishes), then deleted automatically. It is encrypted where it is stored.",
  "Who sees what: nobody sees the template itself. Your tutor and the school's admins see " +
    "whether you are enrolled and whether a check matched; your tutor sees the enrolment " +
    "picture once, to approve it.",
  "How to withdraw: press “Delete my face template” on this page at any time; it is erased " +
    "at once.",
  "If you do not agree: nothing changes for you here. Checks keep confirming that someone " +
    "is present; ask your school for the alternative it offers (an admin can excuse you " +
    "from face comparison, for example after checking your identity in person).",
];

function bytesToBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function identityPolicy() {
  const lessonId = lessonIdFromPath();
  if (!lessonId) return "off";
  try {
    const lesson = await api(`/api/lessons/${lessonId}`);
    const course = await api(`/api/courses/${lesson.course_id}`);
    return course.policy?.identity ?? "off";
  } catch {
    return "off";
  }
}

export async function setUpEnrolment(root) {
  const ui = {
    state: $("#identity-state", root),
    consent: $("#identity-consent", root),
    points: $("#identity-points", root),
    agree: $("#identity-agree", root),
    decline: $("#identity-decline", root),
    capture: $("#identity-capture", root),
    video: $("#identity-video", root),
    step: $("#identity-step", root),
    message: $("#identity-message", root),
    enrol: $("#identity-enrol", root),
    withdraw: $("#identity-withdraw", root),
  };
  ui.points.replaceChildren(...NOTICE.map((text) => el("li", { text })));

  async function refresh() {
    const mine = await api("/api/me/face");
    const words = STATES[mine.state] ?? mine.state;
    setText(ui.state, mine.reason ? `${words}: ${mine.reason}` : words);
    root.dataset.state = mine.state;
    show(ui.enrol, ["not_enrolled", "rejected"].includes(mine.state));
    show(ui.withdraw, ["pending", "approved"].includes(mine.state));
  }

  async function capture() {
    let stream = null;
    show(ui.consent, false);
    show(ui.capture, true);
    notice(ui.message, "");
    try {
      stream = await startCamera(ui.video);
      const frames = [];
      for (const step of STEPS) {
        setText(ui.step, step.say);
        await sleep(step.waitMs);
        frames.push({ image: bytesToBase64(await grabJpeg(ui.video)), turn: step.turn });
      }
      setText(ui.step, "Sending…");
      await api("/api/me/face", { method: "POST", body: { consent: true, frames } });
      notice(ui.message, "Thank you: your enrolment waits for your tutor's approval.");
    } catch (error) {
      notice(ui.message, `Enrolment did not work: ${error.message}. You can try again.`, "warn");
    } finally {
      stopCamera(ui.video, stream);
      show(ui.capture, false);
      setText(ui.step, "");
      await refresh().catch(() => {});
    }
  }

  ui.enrol.addEventListener("click", () => {
    show(ui.consent, true);
    show(ui.enrol, false);
  });
  ui.decline.addEventListener("click", async () => {
    show(ui.consent, false);
    await refresh().catch(() => {});
  });
  ui.agree.addEventListener("click", capture);
  ui.withdraw.addEventListener("click", async () => {
    if (!confirm("Delete your face template now? Checks will only confirm presence.")) return;
    try {
      await api("/api/me/face", { method: "DELETE" });
      notice(ui.message, "Your face template has been deleted.");
    } catch (error) {
      notice(ui.message, error.message, "warn");
    }
    await refresh().catch(() => {});
  });
  await refresh();
  show(root, true);
}

const root = document.querySelector("#identity");
if (root && session()?.user?.role === "student") {
  identityPolicy().then((mode) => {
    if (mode !== "off") setUpEnrolment(root).catch(() => show(root, false));
  });
}
