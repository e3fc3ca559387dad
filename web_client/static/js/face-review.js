// Approving face enrolments on the tutor's dashboard: each pending enrolment with its picture,
// "Approve" and "Reject" (with a reason). The picture is fetched with the bearer token and
// shown from a blob: URL; the server deletes it as soon as the decision is made.
import { api, session } from "./api.js";
import { $, dateTime, el, notice, show } from "./dom.js";

async function pictureUrl(studentId) {
  const response = await api(`/api/users/${studentId}/face/picture`, { raw: true });
  return URL.createObjectURL(await response.blob());
}

async function decide(item, verb, body) {
  await api(`/api/users/${item.student_id}/face/${verb}`, { method: "POST", body });
}

function row(item, onDone, message) {
  const img = el("img", { alt: `Enrolment picture of ${item.name}`, width: 160 });
  pictureUrl(item.student_id)
    .then((url) => {
      img.src = url;
      img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
    })
    .catch(() => img.replaceWith(el("span", { class: "muted", text: "(picture unavailable)" })));
  const act = (verb, reason) => async () => {
    try {
      await decide(item, verb, reason ? { reason } : undefined);
      notice(message, `${item.name}: enrolment ${verb === "approve" ? "approved" : "rejected"}.`);
    } catch (error) {
      notice(message, error.message, "warn");
    }
    onDone();
  };
  const reject = async () => {
    const reason = prompt(`Why is ${item.name}'s enrolment rejected? (they will see this)`);
    if (reason?.trim()) await act("reject", reason.trim())();
  };
  return el(
    "li",
    { class: "face-review-item" },
    img,
    el("div", {},
      el("strong", { text: item.name }),
      el("p", { class: "muted", text: `${item.email} · enrolled ${dateTime(item.created_at)}` }),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "primary", text: "Approve", onclick: act("approve") }),
        el("button", { type: "button", text: "Reject…", onclick: reject }),
      ),
    ),
  );
}

/** Show the pending enrolments in `root` (hidden when there are none). */
export async function showPendingEnrolments(root) {
  const list = $("#face-review-list", root);
  const message = $("#face-review-message", root);
  const load = async () => {
    const pending = await api("/api/face-enrolments");
    list.replaceChildren(...pending.items.map((item) => row(item, load, message)));
    show(root, pending.items.length > 0 || !message.hidden);
  };
  await load();
}

const root = document.querySelector("#face-review");
if (root && ["tutor", "admin"].includes(session()?.user?.role)) {
  showPendingEnrolments(root).catch(() => show(root, false));
}
