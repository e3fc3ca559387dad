"""The attendance certificate: one page a person reads, carrying the signed credential.

Made with fpdf2: maintained, pure Python (nothing to compile, no system library), writes
PDF/A-friendly files with embedded TrueType fonts and file attachments, and is fast enough to
make a page per request. The page states the course, lesson, times, status, checks, identity
summary and reviews, the seal, a short verification code and how to verify.

The signed credential travels inside the PDF as an attached file (``attendance.json``), which a
PDF reader shows and a verifier checks by its eddsa-jcs-2022 proof. The page itself is signed
too: the file ends with a PDF comment line ``%TrustLesson-Signature <key id> <signature>``, an
Ed25519 signature over every byte before it, so a change to any byte of the page is found.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF

from records.keys import SigningKey, b64url

MARK = b"%TrustLesson-Signature "
ATTACHMENT = "attendance.json"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")
_STATUS_WORDS = {
    "present": "Present",
    "partial": "Partly present",
    "absent": "Absent",
}


def _when(text: str | None) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")


class _Page(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(False)
        if all((FONT_DIR / f).is_file() for f in _FONTS):
            # Every name in any script the font has, not only Latin-1.
            self.add_font("Body", "", str(FONT_DIR / "DejaVuSans.ttf"))
            self.add_font("Body", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
            self.add_font("Mono", "", str(FONT_DIR / "DejaVuSansMono.ttf"))
            self.body, self.mono, self.unicode = "Body", "Mono", True
        else:
            self.body, self.mono, self.unicode = "Helvetica", "Courier", False

    def text_of(self, value: str) -> str:
        if self.unicode:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    def line_of(self, label: str, value: str, size: float = 10) -> None:
        self.set_font(self.body, "B", size)
        self.cell(46, 6, self.text_of(label))
        self.set_font(self.body, "", size)
        self.multi_cell(0, 6, self.text_of(value), new_x="LMARGIN", new_y="NEXT")


def certificate_pdf(document: dict[str, Any], code: str, key: SigningKey, verify_url: str) -> bytes:
    """The one-page certificate of a signed student credential, signed as a whole."""
    subject = document["credentialSubject"]
    lesson = subject["lesson"]
    attendance = subject["attendance"]
    seal = subject["seal"]
    pdf = _Page()
    pdf.set_title(document["name"])
    pdf.set_author(document["issuer"]["name"])
    pdf.set_creation_date(datetime.fromisoformat(document["proof"]["created"]))
    pdf.add_page()

    pdf.set_font(pdf.body, "B", 18)
    pdf.cell(0, 10, "Certificate of attendance", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.body, "", 10)
    pdf.cell(
        0, 6, pdf.text_of(f"issued by {document['issuer']['name']}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)
    pdf.line_of("Student", f"{subject['name']} <{subject['email']}>", 12)
    pdf.line_of("Course", subject["course"]["title"])
    pdf.line_of("Lesson", lesson["title"])
    pdf.line_of(
        "Scheduled", f"{_when(lesson['scheduled_start'])} to {_when(lesson['scheduled_end'])}"
    )
    pdf.line_of("Held", f"{_when(lesson['started_at'])} to {_when(lesson['ended_at'])}")
    pdf.ln(2)
    status = _STATUS_WORDS.get(attendance["status"], attendance["status"])
    pdf.line_of("Attendance", status, 14)
    counts = attendance["checks"]
    ratio = attendance["ratio"]
    connected = attendance["connected_ratio"]
    pdf.line_of(
        "Checks",
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['missed']} missed "
        f"of {counts['issued']} issued" + (f" (ratio {ratio:.0%})" if ratio is not None else ""),
    )
    pdf.line_of(
        "Connected",
        f"{attendance['connected_seconds']:.0f} s of {subject['liveSeconds']:.0f} s live"
        + (f" ({connected:.0%})" if connected is not None else ""),
    )
    identity = subject["identity"]
    pdf.line_of(
        "Identity",
        "matched"
        if identity.get("matched")
        else "not checked in this lesson"
        if not identity.get("checked")
        else "checked, not matched",
    )
    reviews = subject["reviews"]
    pdf.line_of("Reviews", "; ".join(str(r.get("summary", r)) for r in reviews) or "none")

    pdf.ln(2)
    pdf.set_font(pdf.body, "B", 10)
    pdf.cell(0, 6, "Each check (time, outcome)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.mono, "", 8)
    shown = subject["checks"][:24]
    for check in shown:
        pdf.cell(
            0, 4, f"{_when(check['receivedAt'])}  {check['outcome']}", new_x="LMARGIN", new_y="NEXT"
        )
    if len(subject["checks"]) > len(shown):
        pdf.cell(
            0,
            4,
            f"... and {len(subject['checks']) - len(shown)} more in the attached record",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    pdf.set_y(-88)
    pdf.set_font(pdf.body, "B", 10)
    pdf.cell(0, 6, "Seal", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.mono, "", 8)
    for label, value in (
        ("sealed at", seal["sealedAt"]),
        ("root", seal["root"]),
        ("link", f"{seal['sequence']} of the lesson's chain, {seal['records']} records"),
        ("key", seal["keyId"]),
    ):
        pdf.cell(0, 4, f"{label:>10}  {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(pdf.body, "B", 12)
    pdf.cell(0, 7, f"Verification code: {code}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.body, "", 9)
    pdf.multi_cell(
        0,
        4.5,
        pdf.text_of(
            f"How to verify: drop this PDF on {verify_url}, or run "
            "`trust-lesson verify certificate.pdf --public-key keys.json` with the issuer's "
            "public keys (GET /api/signing-keys). A valid answer shows the same verification "
            "code. The signed record is attached to this PDF as attendance.json (a W3C "
            "Verifiable Credential, eddsa-jcs-2022); any change to this file makes it invalid. "
            "The signature proves what the issuing server recorded, not more.",
        ),
        new_x="LMARGIN",
        new_y="NEXT",
        align="L",
    )
    signed_json = json.dumps(document, ensure_ascii=False, indent=2).encode()
    pdf.embed_file(
        bytes=signed_json,
        basename=ATTACHMENT,
        mime_type="application/json",
        desc="The signed attendance record (W3C Verifiable Credential)",
        modification_date=datetime.fromisoformat(document["proof"]["created"]),
    )
    body = bytes(pdf.output())
    if not body.endswith(b"\n"):
        body += b"\n"
    return body + MARK + f"{key.kid} {b64url(key.sign(body))}\n".encode()


def split_signature(data: bytes) -> tuple[bytes, str, str] | None:
    """The signed bytes, key id and signature of a certificate; None when it carries none."""
    at = data.rfind(b"\n" + MARK)
    if at < 0:
        return None
    body, trailer = data[: at + 1], data[at + 1 + len(MARK) :]
    parts = trailer.decode("ascii", "replace").strip().split(" ")
    if len(parts) != 2 or not trailer.endswith(b"\n"):
        return None
    return body, parts[0], parts[1]
