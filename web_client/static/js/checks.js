// One prompt (a check of a lesson) in words: its result, its frames, its review and contest.
import { clock, el } from "./dom.js";
import { CHALLENGE_WORDS, outcomeWords } from "./words.js";

export const STATUS_WORDS = {
  passed: "Passed",
  failed: "Not passed",
  missed: "Missed",
  pending: "Open",
  cancelled: "Did not count",
};

/** "Not passed: No face in view", "Missed: no picture in time", "Passed". */
export function resultWords(prompt) {
  const status = STATUS_WORDS[prompt.status] ?? prompt.status;
  if (prompt.status === "missed") return `${status}: no picture arrived in time`;
  const last = prompt.frames.at(-1);
  if (prompt.status === "failed" && last) return `${status}: ${outcomeWords(last.outcome)}`;
  if (prompt.different_person) return `${status}, but a frame showed someone else`;
  return status;
}

/** What the review decided, in words; null when nothing is to be decided. */
export function reviewWords(prompt, { student = false } = {}) {
  const review = prompt.review;
  if (review.state === "not_needed") return null;
  const decision = review.decision;
  if (review.state === "pending") {
    if (prompt.contest) {
      return student ? "Contested — waiting for your tutor's decision." : "Contested — waiting";
    }
    return student ? "Waiting for your tutor's review." : "Waiting for a decision";
  }
  const who = student ? "Your tutor" : decision.reviewer_name || "A reviewer";
  return review.state === "accepted"
    ? `${who} accepted this check: it counts as passed. Reason: ${decision.reason}`
    : `${who} upheld the result. Reason: ${decision.reason}`;
}

/** The prompt's frames as a list: time, outcome in words, hint. */
export function framesList(prompt) {
  if (prompt.frames.length === 0) {
    return el("p", { class: "muted", text: "No picture arrived before the deadline." });
  }
  return el(
    "ol",
    { class: "frames" },
    prompt.frames.map((frame) =>
      el(
        "li",
        { dataset: { outcome: frame.outcome } },
        el("time", { datetime: frame.received_at, text: clock(frame.received_at) }),
        ` ${outcomeWords(frame.outcome)}`,
        frame.hint ? el("span", { class: "muted", text: ` — hint: ${frame.hint}` }) : null,
      ),
    ),
  );
}

export function timesLine(prompt) {
  const asked = CHALLENGE_WORDS[prompt.challenge] ?? prompt.challenge;
  return el(
    "p",
    { class: "muted" },
    "Asked at ",
    el("time", { datetime: prompt.issued_at, text: clock(prompt.issued_at) }),
    ", answer due by ",
    el("time", { datetime: prompt.deadline, text: clock(prompt.deadline) }),
    ` — "${asked}"`,
  );
}

/** Every page of a list. */
export async function everyPage(api, path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}limit=200${cursor ? `&cursor=${cursor}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
