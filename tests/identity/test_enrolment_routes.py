"""Enrolment over HTTP with real photos: refusals in words, the template's life, and the audit."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from testkit.api import Api, make_classroom
from tests.identity import frames


async def _put(
    api: Api, token: str, user_id: str, image: bytes, kind: str = "image/jpeg"
) -> httpx.Response:
    return await api.http.put(
        f"/api/users/{user_id}/face",
        content=image,
        headers={"authorization": f"Bearer {token}", "content-type": kind},
    )


def _frames(*items: tuple[bytes, str]) -> dict[str, Any]:
    return {
        "consent": True,
        "frames": [{"image": base64.b64encode(b).decode(), "turn": t} for b, t in items],
    }


STUDENT_FRAMES = (
    (frames.astronaut(), "none"),
    (frames.astronaut(share=0.4, light=0.8, at_x=0.45), "none"),
    (frames.astronaut_turned("left"), "left"),
)


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (frames.empty_room, "no face"),
        (frames.both, "more than one face"),
        (lambda: frames.astronaut(share=0.12), "too small"),
        (lambda: frames.astronaut(light=0.3), "too dark"),
        (frames.blurred, "blurred"),
        (lambda: frames.astronaut_turned("left", 45), "turned away"),
        (lambda: b"\xff\xd8\xff\xe0 not really a jpeg", "could not be read"),
    ],
    ids=["no-face", "two-faces", "small", "dark", "blurred", "turned", "garbage"],
)
async def test_an_admin_photo_without_one_clear_face_is_refused_in_words(
    api: Api, image: Any, words: str
) -> None:
    admin = await api.admin_token()
    student = await api.add_user(admin, "student", "Sam")
    r = await _put(api, admin, student["id"], image())
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
    state = await api.call("GET", f"/api/users/{student['id']}/face", admin)
    assert state == {"state": "not_enrolled"}


async def test_an_admin_enrols_a_student_from_one_photo_and_the_vector_never_comes_back(
    api: Api,
) -> None:
    admin = await api.admin_token()
    student = await api.add_user(admin, "student", "Eileen")
    r = await _put(api, admin, student["id"], frames.astronaut())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "approved"
    assert 0 < body["quality"] <= 1
    assert body["model"].startswith("dlib")
    assert body["created_at"]
    for reader in (admin, student["token"]):
        seen = await api.call("GET", f"/api/users/{student['id']}/face", reader)
        assert seen["state"] == "approved"
        assert set(seen) <= {
            "state",
            "quality",
            "model",
            "source",
            "created_at",
            "consent_at",
            "decided_at",
            "reason",
        }
    audit = await api.call("GET", f"/api/audit?target_id={student['id']}", admin)
    assert [e["action"] for e in audit["items"]][:1] == ["face.enrol"]


async def test_the_image_guards_of_captures_apply(api: Api) -> None:
    admin = await api.admin_token()
    student = await api.add_user(admin, "student", "Sam")
    r = await _put(api, admin, student["id"], frames.astronaut(), kind="image/gif")
    assert r.status_code == 415
    r = await _put(api, admin, student["id"], b"x" * 2_000_001)
    assert r.status_code == 413


async def test_a_student_enrols_a_tutor_sees_the_picture_approves_and_the_picture_is_gone(
    api: Api,
) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    student, tutor = room.students[0], room.tutor
    made = await api.call(
        "POST", "/api/me/face", student["token"], _frames(*STUDENT_FRAMES), expect=201
    )
    assert made["state"] == "pending" and made["consent_at"]
    pending = await api.call("GET", "/api/face-enrolments", tutor["token"])
    assert [p["student_id"] for p in pending["items"]] == [student["id"]]
    picture = await api.http.get(
        f"/api/users/{student['id']}/face/picture",
        headers={"authorization": f"Bearer {tutor['token']}"},
    )
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content == STUDENT_FRAMES[0][0]
    approved = await api.call("POST", f"/api/users/{student['id']}/face/approve", tutor["token"])
    assert approved["state"] == "approved"
    gone = await api.http.get(
        f"/api/users/{student['id']}/face/picture",
        headers={"authorization": f"Bearer {tutor['token']}"},
    )
    assert gone.status_code == 404
    # Decided once: a second decision is a conflict.
    await api.call("POST", f"/api/users/{student['id']}/face/approve", tutor["token"], expect=409)
    actions = [
        e["action"]
        for e in (await api.call("GET", f"/api/audit?target_id={student['id']}", room.admin))[
            "items"
        ]
    ]
    assert actions[:2] == ["face.approve", "face.enrol"]


async def test_a_rejected_enrolment_says_why_and_keeps_nothing_to_compare(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    student = room.students[0]
    await api.call("POST", "/api/me/face", student["token"], _frames(*STUDENT_FRAMES), expect=201)
    rejected = await api.call(
        "POST",
        f"/api/users/{student['id']}/face/reject",
        room.admin,
        {"reason": "the picture shows a photo held up to the camera"},
    )
    assert rejected["state"] == "rejected"
    mine = await api.call("GET", "/api/me/face", student["token"])
    assert mine["reason"] == "the picture shows a photo held up to the camera"


async def test_frames_of_two_people_or_without_a_turn_are_refused(api: Api) -> None:
    admin = await api.admin_token()
    student = await api.add_user(admin, "student", "Sam")
    mixed = _frames((frames.astronaut(), "none"), (frames.hopper(), "none"), *STUDENT_FRAMES[2:])
    r = await api.http.post(
        "/api/me/face", json=mixed, headers={"authorization": f"Bearer {student['token']}"}
    )
    assert r.status_code == 422 and "same person" in r.json()["detail"]
    no_turn = _frames(*STUDENT_FRAMES[:2], (frames.astronaut(share=0.5), "none"))
    r = await api.http.post(
        "/api/me/face", json=no_turn, headers={"authorization": f"Bearer {student['token']}"}
    )
    assert r.status_code == 422 and "turned" in r.json()["detail"]
    # A frontal frame offered as the head turn: the turn was not seen.
    fake_turn = _frames(*STUDENT_FRAMES[:2], (frames.astronaut(share=0.5), "left"))
    r = await api.http.post(
        "/api/me/face", json=fake_turn, headers={"authorization": f"Bearer {student['token']}"}
    )
    assert r.status_code == 422 and "turn was not seen" in r.json()["detail"]
    no_consent = {**_frames(*STUDENT_FRAMES), "consent": False}
    r = await api.http.post(
        "/api/me/face", json=no_consent, headers={"authorization": f"Bearer {student['token']}"}
    )
    assert r.status_code == 422 and "consent" in r.json()["detail"]


async def test_withdrawal_and_deletion_erase_the_template_at_once(api: Api) -> None:
    admin = await api.admin_token()
    student = await api.add_user(admin, "student", "Eileen")
    assert (await _put(api, admin, student["id"], frames.astronaut())).status_code == 200
    await api.call("DELETE", "/api/me/face", student["token"], expect=204)
    assert (await api.call("GET", "/api/me/face", student["token"]))["state"] == "not_enrolled"
    await api.call("DELETE", "/api/me/face", student["token"], expect=404)
    assert (await _put(api, admin, student["id"], frames.astronaut())).status_code == 200
    await api.call("DELETE", f"/api/users/{student['id']}/face", admin, expect=204)
    assert (await api.call("GET", "/api/me/face", student["token"]))["state"] == "not_enrolled"
    audit = await api.call("GET", f"/api/audit?target_id={student['id']}&action=face.delete", admin)
    assert [e["detail"]["by"] for e in audit["items"]] == ["admin", "student"]


async def test_an_admin_may_exempt_a_student_with_a_reason(api: Api) -> None:
    admin = await api.admin_token()
    student = await api.add_user(admin, "student", "Sam")
    exempt = await api.call(
        "POST",
        f"/api/users/{student['id']}/face/exempt",
        admin,
        {"reason": "declined biometric processing; identity checked in person"},
    )
    assert exempt["state"] == "exempt"
    audit = await api.call("GET", f"/api/audit?target_id={student['id']}", admin)
    assert audit["items"][0]["action"] == "face.exempt"


async def _status(api: Api, method: str, path: str, token: str, **kw: Any) -> int:
    r: httpx.Response = await api.http.request(
        method, path, headers={"authorization": f"Bearer {token}"}, **kw
    )
    return r.status_code


async def test_every_route_answers_only_the_roles_it_names(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    student = room.students[0]
    other_tutor = await api.add_user(room.admin, "tutor", "Other Tutor")
    other_student = await api.add_user(room.admin, "student", "Other Student")
    await api.call("POST", "/api/me/face", student["token"], _frames(*STUDENT_FRAMES), expect=201)
    face = f"/api/users/{student['id']}/face"

    # Reading the state: admin, the student's tutor, the student; not another tutor or student.
    assert await _status(api, "GET", face, room.admin) == 200
    assert await _status(api, "GET", face, room.tutor["token"]) == 200
    assert await _status(api, "GET", face, student["token"]) == 200
    assert await _status(api, "GET", face, other_tutor["token"]) == 404
    assert await _status(api, "GET", face, other_student["token"]) == 404
    # The picture and the decision: the admin and the student's tutor only.
    assert await _status(api, "GET", face + "/picture", other_tutor["token"]) == 404
    assert await _status(api, "GET", face + "/picture", student["token"]) == 403
    assert await _status(api, "POST", face + "/approve", other_tutor["token"]) == 404
    assert await _status(api, "POST", face + "/approve", student["token"]) == 403
    assert await _status(api, "GET", "/api/face-enrolments", student["token"]) == 403
    other = await api.call("GET", "/api/face-enrolments", other_tutor["token"])
    assert other["items"] == []
    # Enrolment from a photo, deletion and exemption: the admin only.
    for token in (room.tutor["token"], student["token"]):
        assert await _status(api, "PUT", face, token, content=frames.astronaut()) == 403
        assert await _status(api, "DELETE", face, token) == 403
        assert await _status(api, "POST", face + "/exempt", token, json={"reason": "x"}) == 403
    # The student's own routes: students only.
    for token in (room.admin, room.tutor["token"]):
        assert await _status(api, "GET", "/api/me/face", token) == 403
        assert await _status(api, "DELETE", "/api/me/face", token) == 403
    r = await api.http.get(face)
    assert r.status_code == 401
    # A tutor has no face template.
    r = await _put(api, room.admin, room.tutor["id"], frames.astronaut())
    assert r.status_code == 409
