"""Hostile frames: bytes that are no image, damaged files, decompression bombs, formats the
protocol does not take, a picture too small to hold a face, and frames over the size limits.
Each binary frame for an open prompt is answered `bad_image` with a hint and uses one attempt
(docs/protocol.md: up to max_frames frames per prompt); a message over the socket limit closes
only the sender's connection."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np

from server.settings import Settings
from testkit.api import Api
from testkit.frames import (
    blank_jpeg,
    encode,
    face_jpeg,
    face_rgb,
    png_bomb,
    tiny_png,
    truncated_jpeg,
)
from testkit.lessons import class_lesson, join, prompted, state_of, still_verified
from testkit.participants import Participant
from testkit.timing import timeout
from tests.adversarial.raw import WireSocket

LIMITS = Settings()  # the test server reads the same environment


def random_bytes() -> bytes:
    return random.Random(8).randbytes(5000)


def jpeg_declaring(width: int, height: int) -> bytes:
    """The face JPEG with its frame header rewritten to declare ``width`` x ``height``."""
    data = bytearray(face_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def as_format(fmt: str) -> Callable[[], bytes]:
    return lambda: encode(face_rgb(320), fmt)


def svg() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">'
        b'<image href="file:///etc/passwd" width="640" height="480"/>'
        b"<script>alert(1)</script></svg>"
    )


def tiny_jpeg() -> bytes:
    return encode(np.zeros((1, 1, 3), dtype=np.uint8))


def over_the_image_limit() -> bytes:
    """A real face JPEG, padded after its end marker to one byte over TL_MAX_IMAGE_BYTES (still
    inside one socket message): refused by size, before any decoding."""
    frame = face_jpeg()
    return frame + b"\0" * (LIMITS.max_image_bytes + 1 - len(frame))


BAD_FRAMES: list[tuple[str, Callable[[], bytes]]] = [
    ("random bytes", random_bytes),
    ("truncated JPEG", truncated_jpeg),
    ("PNG declaring 30000x30000", png_bomb),
    ("JPEG declaring 60000x60000", lambda: jpeg_declaring(60_000, 60_000)),
    ("GIF", as_format("GIF")),
    ("BMP", as_format("BMP")),
    ("TIFF", as_format("TIFF")),
    ("SVG", svg),
    ("1x1 PNG", tiny_png),
    ("1x1 JPEG", tiny_jpeg),
    ("over TL_MAX_IMAGE_BYTES", over_the_image_limit),
    ("JPEG start marker only", lambda: b"\xff\xd8\xff"),
]


async def test_hostile_frames_are_bad_image_with_a_hint_and_use_one_attempt_each(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student, honest) = await class_lesson(
        api, server_url, participants, 2, policy={"max_frames": 7}
    )
    me, other = room.students
    frames = list(BAD_FRAMES)
    while frames:
        batch, frames = frames[:6], frames[6:]
        prompt = await prompted(tutor, student, me["id"])
        assert prompt["max_frames"] == 7
        for n, (what, frame) in enumerate(batch, start=1):
            started = time.monotonic()
            ack = await student.call(
                "capture", {"prompt_id": prompt["prompt_id"], "image": frame()}
            )
            elapsed = time.monotonic() - started
            assert ack["outcome"] == "bad_image", (what, ack)
            assert isinstance(ack["hint"], str) and ack["hint"].strip(), (what, ack)
            assert (ack["final"], ack["attempts_left"]) == (False, 7 - n), (what, ack)
            # Refused from its header: a bomb costs no decoding time.
            assert elapsed < timeout(2), (what, elapsed)
        row = await tutor.wait_for("attendance", lambda d: d["last_outcome"] == "bad_image")
        assert row["state"] == "checking"  # bad frames alone never fail the prompt early
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert (ack["outcome"], ack["final"]) == ("present", True)
        await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    await still_verified(tutor, honest, other)


async def test_a_frame_for_a_prompt_that_runs_out_of_attempts_on_bad_images_fails_it(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(
        api, server_url, participants, 1, policy={"max_frames": 2}
    )
    me = room.students[0]
    prompt = await prompted(tutor, student, me["id"])
    acks = [
        await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": frame()})
        for frame in (png_bomb, random_bytes, face_jpeg)
    ]
    assert [(a["outcome"], a["final"], a["attempts_left"]) for a in acks] == [
        ("bad_image", False, 1),
        ("bad_image", True, 0),
        ("unknown_prompt", True, 0),
    ]
    row = await tutor.wait_for("attendance", state_of(me["id"], "flagged"))
    assert row["checks"] == {"issued": 1, "passed": 0, "failed": 1, "missed": 0}


async def test_a_message_over_the_socket_limit_closes_only_that_connection(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student, honest) = await class_lesson(api, server_url, participants, 2)
    me, other = room.students
    prompt = await prompted(tutor, student, me["id"])
    huge = face_jpeg() + b"\0" * LIMITS.max_socket_message_bytes
    await student.client.emit(
        "capture", {"prompt_id": prompt["prompt_id"], "image": huge}, namespace="/student"
    )
    # What the client sees: its connection closed by the server, no ack.
    reason = await student.wait_for("disconnect")
    assert not student.client.connected, reason
    assert student.received("verdict") == []

    # Everyone else is served; the student reconnects and the same prompt is still open, the
    # oversized message not counted as an attempt.
    await still_verified(tutor, honest, other)
    again = await join(participants, server_url, "/student", me["token"], room.lesson_id)
    resent = await again.wait_for("prompt")
    assert resent["prompt_id"] == prompt["prompt_id"]
    ack = await again.call("capture", {"prompt_id": prompt["prompt_id"], "image": blank_jpeg()})
    assert (ack["outcome"], ack["attempts_left"]) == ("no_face", prompt["max_frames"] - 1)
    ack = await again.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "present"
    health = await api.call("GET", "/api/health", None)
    assert health["status"] == "ok"


UVICORN_OWN_LIMIT = 16 * 1024 * 1024  # what uvicorn would buffer per message if left to itself


async def test_a_frame_announced_over_the_limit_is_refused_before_it_is_sent(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    """The frame header says how big the message is: the server refuses it from that alone
    (1009, message too big), with no namespace joined and without waiting for, or holding,
    the payload. Left to uvicorn's defaults it would wait for all 12 MB and keep them."""
    room, tutor, (honest,) = await class_lesson(api, server_url, participants, 2, connected=1)
    other = room.students[0]
    announced = 12_000_000
    assert LIMITS.max_socket_message_bytes < announced < UVICORN_OWN_LIMIT
    for opcode in (0x2, 0x1):  # a binary frame (an attachment) and a text one (a packet)
        wire = await WireSocket.open(server_url)
        try:
            await wire.send_header(announced, opcode)
            await wire.send_raw(b"\0" * 65_536)  # the first part, never the rest
            code = await wire.close_code(within=3)
        finally:
            await wire.close()
        assert code == 1009, f"opcode {opcode}: close code {code} (None: the server waited)"
    await still_verified(tutor, honest, other)
