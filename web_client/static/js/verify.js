// The verification page: the dropped file goes to POST /api/verify as it is, and the answer
// is shown in words. Every value from the file is inserted as text, never as markup.

import { $, el, setText, show } from "./dom.js";

const ui = {
  drop: $("#drop"),
  file: $("#file"),
  result: $("#result"),
  verdict: $("#verdict"),
  summary: $("#summary"),
  facts: $("#facts"),
};

const STATUS = { present: "Present", partial: "Partly present", absent: "Absent" };

function facts(answer) {
  const says = answer.says ?? {};
  const subject = says.subject ?? {};
  const rows = [];
  if (subject.type === "StudentAttendance") {
    const a = subject.attendance ?? {};
    const c = a.checks ?? {};
    rows.push(["Student", `${subject.name ?? ""} <${subject.email ?? ""}>`]);
    rows.push(["Course", subject.course?.title ?? ""]);
    rows.push(["Lesson", subject.lesson?.title ?? ""]);
    rows.push(["Attendance", STATUS[a.status] ?? a.status ?? ""]);
    rows.push(["Checks", `${c.passed ?? 0} passed of ${c.issued ?? 0} issued`]);
  } else if (subject.report) {
    const r = subject.report;
    rows.push(["Course", r.lesson?.course_title ?? ""]);
    rows.push(["Lesson", r.lesson?.title ?? ""]);
    rows.push(["Students", String(r.totals?.students ?? "")]);
  }
  const issuer = says.issuer ?? {};
  rows.push(["Issued by", issuer.id ? `${issuer.name ?? ""} (${issuer.id})` : issuer.name ?? ""]);
  rows.push(["Sealed at", answer.sealed_at ?? ""]);
  rows.push(["Signing key", answer.key_id ?? ""]);
  rows.push(["Verification code", answer.verification_code ?? ""]);
  return rows;
}

function showAnswer(answer) {
  ui.facts.replaceChildren();
  show(ui.result, true);
  ui.result.dataset.valid = answer.valid ? "yes" : "no";
  if (answer.valid) {
    setText(ui.verdict, "Valid: genuine and unchanged");
    setText(ui.summary, answer.summary);
    for (const [name, value] of facts(answer)) {
      ui.facts.append(el("dt", { text: name }), el("dd", { text: value }));
    }
  } else {
    setText(ui.verdict, "Not valid");
    setText(ui.summary, `This file cannot be trusted: ${answer.problem}.`);
  }
}

async function check(file) {
  show(ui.result, true);
  ui.result.dataset.valid = "";
  setText(ui.verdict, "Checking…");
  setText(ui.summary, file.name);
  ui.facts.replaceChildren();
  try {
    const response = await fetch("/api/verify", {
      method: "POST",
      headers: { "content-type": "application/octet-stream", accept: "application/json" },
      body: await file.arrayBuffer(),
      cache: "no-store",
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.detail || answer.title || response.statusText);
    showAnswer(answer);
  } catch (error) {
    ui.result.dataset.valid = "no";
    setText(ui.verdict, "Could not check the file");
    setText(ui.summary, error.message);
  }
}

ui.file.addEventListener("change", () => {
  if (ui.file.files.length) check(ui.file.files[0]);
});
ui.drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  ui.drop.classList.add("over");
});
ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
ui.drop.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.drop.classList.remove("over");
  if (event.dataTransfer.files.length) check(event.dataTransfer.files[0]);
});
