// What the protocol's codes mean, in plain words.

export const OUTCOME_WORDS = {
  present: "Face seen",
  no_face: "No face in view",
  multiple_faces: "More than one person in view",
  looking_away: "Looking away",
  challenge_failed: "Head turn not seen",
  bad_image: "Picture unreadable",
  different_person: "Not the enrolled student",
  identity_uncertain: "Face not clear enough to compare",
  missed: "No picture in time",
  unknown_prompt: "Check no longer open",
  expired: "Too late",
  rate_limited: "Server busy",
};

/** What the student reads about one frame's verdict. */
export const STUDENT_OUTCOME = {
  present: "Verified — your face was seen.",
  no_face: "We couldn't see your face.",
  multiple_faces: "More than one person was in view.",
  looking_away: "You seemed to be looking away from the screen.",
  challenge_failed: "We didn't see the head turn.",
  bad_image: "The camera picture couldn't be read.",
  different_person: "The person in view did not match your enrolment photo.",
  identity_uncertain: "We could not compare your face clearly — another picture, please.",
  missed: "Missed — no picture arrived in time.",
  unknown_prompt: "This check is no longer open.",
  expired: "Too late for this check — wait for the next one.",
  rate_limited: "The server is busy.",
};

export function outcomeWords(outcome) {
  return OUTCOME_WORDS[outcome] ?? (outcome ? String(outcome).replaceAll("_", " ") : "");
}

export const CHALLENGE_WORDS = {
  none: "Look at the camera.",
  turn_left: "Turn your head to your left.",
  turn_right: "Turn your head to your right.",
};

/** The tutor's state labels: text and a symbol, so colour is never the only signal. */
export const STATE_LABELS = {
  verified: { symbol: "✓", text: "Verified" },
  flagged: { symbol: "!", text: "Flagged" },
  checking: { symbol: "…", text: "Checking" },
  waiting: { symbol: "○", text: "Waiting" },
  offline: { symbol: "–", text: "Offline" },
};

/** The tutor's identity labels (StudentState.identity): text and a symbol. */
export const IDENTITY_LABELS = {
  matched: { symbol: "✓", text: "Same person" },
  mismatch: { symbol: "✗", text: "Different person" },
  inconclusive: { symbol: "?", text: "Could not tell" },
  pending: { symbol: "…", text: "Enrolment to approve" },
  not_enrolled: { symbol: "–", text: "Not enrolled" },
};

export const STATE_ORDER = ["verified", "flagged", "checking", "waiting", "offline"];

export const CAMERA_WORDS = {
  ok: "Camera on",
  denied: "Camera blocked",
  unavailable: "No camera",
  unknown: "—",
};

export const REFUSALS = {
  unauthorized: "Your sign-in has expired. Please sign in again.",
  forbidden: "Your account may not open this page.",
  not_enrolled: "You are not enrolled in this lesson's course. Ask your tutor to add you.",
  lesson_not_live: "The lesson is not live.",
  bad_request: "This lesson could not be found.",
  unavailable: "The server cannot take the connection right now. Retrying…",
};
