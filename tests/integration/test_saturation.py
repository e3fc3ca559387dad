"""A saturated vision pool answers `rate_limited` at once, and the frame's attempt is kept."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from testkit.api import Api, Classroom, make_classroom
from testkit.frames import face_jpeg
from testkit.participants import Participant
from testkit.server import running_server


@pytest.fixture(scope="module")
def one_slot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose vision pool judges one frame at a time and queues none."""
    with running_server(
        tmp_path_factory.mktemp("one-slot"),
        vision_workers=1,
        vision_max_pending=1,
        max_image_pixels=40_000_000,
    ) as url:
        yield url


@pytest.fixture
def api(one_slot_server: str, api_to: Callable[[str], Api]) -> Api:
    return api_to(one_slot_server)


def slow_frame() -> bytes:
    # Small on the wire, slow to judge: 36 M pixels of flat colour to inflate (about a second).
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 6000), (120, 130, 140)).save(buffer, "PNG")
    return buffer.getvalue()


async def everyone_prompted(
    server: str, room: Classroom, participants: list[Participant]
) -> tuple[Participant, list[Participant], list[dict[str, Any]]]:
    """The tutor and every student connected, and one prompt each from "check everyone"."""
    tutor = Participant(server, "/tutor")
    participants.append(tutor)
    await tutor.connect(room.tutor["token"], room.lesson_id)
    socks = []
    for student in room.students:
        sock = Participant(server, "/student")
        participants.append(sock)
        await sock.connect(student["token"], room.lesson_id)
        socks.append(sock)
    assert await tutor.call("check_now", {}) == {"issued": len(socks)}
    return tutor, socks, [await sock.wait_for("prompt") for sock in socks]


async def busy_with_a_slow_frame(
    api: Api, sock: Participant, prompt: dict[str, Any]
) -> asyncio.Task[Any]:
    """``sock`` answers ``prompt`` with a frame that holds the pool's only slot for a while."""
    busy = asyncio.create_task(
        sock.call("capture", {"prompt_id": prompt["prompt_id"], "image": slow_frame()})
    )
    await slot_taken(api, busy)
    return busy


async def slot_taken(api: Api, busy: asyncio.Task[Any]) -> None:
    for _ in range(200):
        health = await api.call("GET", "/api/health", None)
        if health["vision_pool"]["in_flight"] >= 1:
            return
        if busy.done():
            break
        await asyncio.sleep(0.01)
    answer = busy.result() if busy.done() else "no answer yet"
    raise AssertionError(f"the slow frame never reached the vision pool; answered {answer}")


async def test_a_full_pool_answers_rate_limited_and_keeps_the_attempt(
    api: Api, one_slot_server: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=2)
    fast = room.students[1]
    tutor, socks, prompts = await everyone_prompted(one_slot_server, room, participants)
    busy = await busy_with_a_slow_frame(api, socks[0], prompts[0])
    ack = await socks[1].call(
        "capture", {"prompt_id": prompts[1]["prompt_id"], "image": face_jpeg()}
    )
    assert ack["outcome"] == "rate_limited"
    assert ack["final"] is False
    assert ack["attempts_left"] == prompts[1]["max_frames"]  # the refused frame cost nothing
    assert ack["hint"]

    assert (await busy)["outcome"] == "no_face"
    ack = await socks[1].call(
        "capture", {"prompt_id": prompts[1]["prompt_id"], "image": face_jpeg()}
    )
    assert ack["outcome"] == "present"
    row = await tutor.wait_for(
        "attendance", lambda d: d["student_id"] == fast["id"] and d["state"] == "verified"
    )
    assert row["checks"]["passed"] == 1


async def test_a_prompt_whose_frames_all_met_a_full_pool_is_not_counted_against_the_student(
    api: Api, one_slot_server: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=2, policy={"deadline_s": 2})
    unlucky = room.students[1]
    tutor, socks, prompts = await everyone_prompted(one_slot_server, room, participants)
    busy = await busy_with_a_slow_frame(api, socks[0], prompts[0])
    ack = await socks[1].call(
        "capture", {"prompt_id": prompts[1]["prompt_id"], "image": face_jpeg()}
    )
    assert (ack["outcome"], ack["final"]) == ("rate_limited", False)
    await busy

    # The student answered; the server could not check in time. At the deadline the prompt
    # is cancelled: not missed, not counted, and the student is told why.
    verdict = await socks[1].wait_for("verdict", within=10)
    assert verdict["prompt_id"] == prompts[1]["prompt_id"]
    assert (verdict["outcome"], verdict["status"], verdict["final"]) == (
        "rate_limited",
        "cancelled",
        True,
    )
    assert "does not count" in verdict["hint"]
    row = await tutor.wait_for(
        "attendance",
        lambda d: d["student_id"] == unlucky["id"] and d["state"] != "checking",
    )
    assert row["state"] != "flagged"
    assert row["checks"] == {"issued": 0, "passed": 0, "failed": 0, "missed": 0}
    report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.tutor["token"])
    line = next(s for s in report["students"] if s["student_id"] == unlucky["id"])
    assert line["checks"]["missed"] == 0 and line["checks"]["issued"] == 0


async def test_a_prompt_due_while_the_pool_is_full_is_put_off_not_sent_to_be_refused(
    api: Api, one_slot_server: str, participants: list[Participant]
) -> None:
    policy = {"first_prompt_min_s": 0.2, "first_prompt_max_s": 0.3}
    room = await make_classroom(api, n_students=2, policy=policy)
    first, second = (Participant(one_slot_server, "/student") for _ in range(2))
    participants += [first, second]
    await first.connect(room.students[0]["token"], room.lesson_id)
    busy = await busy_with_a_slow_frame(api, first, await first.wait_for("prompt"))
    postponed_before = await postponed(api)

    joined = asyncio.get_running_loop().time()
    await second.connect(room.students[1]["token"], room.lesson_id)
    # Due 0.2-0.3 s after joining, while the only slot is taken: put off a few seconds.
    late = await second.wait_for("prompt", within=20)
    waited = asyncio.get_running_loop().time() - joined
    assert waited > 1.5, waited
    assert await postponed(api) >= postponed_before + 1
    await busy
    ack = await second.call("capture", {"prompt_id": late["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "present"  # the pool had room by then


async def postponed(api: Api) -> float:
    text = (await api.http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("trust_lesson_prompts_postponed_total "):
            return float(line.split()[1])
    raise AssertionError("no postponed-prompts metric")
