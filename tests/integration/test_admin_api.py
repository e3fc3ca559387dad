"""The admin API: users, courses, enrolments and lessons, lists and the audit trail."""

from __future__ import annotations

import uuid

from testkit.api import PASSWORD, Api, make_classroom, walk


async def test_pagination_walks_every_user_once_in_order(api: Api) -> None:
    admin = await api.admin_token()
    made = [await api.add_user(admin, "tutor", f"Paged {i}") for i in range(7)]
    everyone = await walk(api, "/api/users", admin, limit=200)
    for limit in (1, 3, 7):
        walked = await walk(api, "/api/users", admin, limit=limit)
        ids = [u["id"] for u in walked]
        assert len(ids) == len(set(ids)), "a user appeared twice"
        assert ids == [u["id"] for u in everyone], "pages skipped or reordered users"
    assert {u["id"] for u in made} <= {u["id"] for u in everyone}
    tutors = await walk(api, "/api/users", admin, limit=2, role="tutor")
    assert {u["role"] for u in tutors} == {"tutor"}
    assert {u["id"] for u in made} <= {u["id"] for u in tutors}


async def test_a_user_added_while_paging_is_neither_lost_nor_repeated(api: Api) -> None:
    admin = await api.admin_token()
    first = await api.call("GET", "/api/users?limit=2", admin)
    late = await api.add_user(admin, "student", "Late")
    rest = await walk(api, "/api/users", admin, limit=2, cursor=first["next_cursor"])
    ids = [u["id"] for u in first["items"] + rest]
    assert len(ids) == len(set(ids))
    assert late["id"] in ids  # newest last: a walk in progress still reaches it


async def test_bad_list_parameters_name_the_parameter(api: Api) -> None:
    admin = await api.admin_token()
    for query, field in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=WyJ4Il0", "cursor"),  # valid base64 JSON of the wrong shape
        ("role=wizard", "role"),
    ]:
        problem = await api.call("GET", f"/api/users?{query}", admin, expect=422)
        assert problem["detail"].startswith(f"{field}:"), (query, problem)
    problem = await api.call("GET", "/api/lessons?status=paused", admin, expect=422)
    assert problem["detail"].startswith("status:")


async def test_an_admin_reads_changes_disables_and_deletes_users(api: Api) -> None:
    admin = await api.admin_token()
    user = await api.add_user(admin, "student", "Dora")
    assert (await api.call("GET", f"/api/users/{user['id']}", admin))["name"] == "Dora"

    changed = await api.call(
        "PATCH",
        f"/api/users/{user['id']}",
        admin,
        {"name": "Dora Dee", "email": f"DORA-{uuid.uuid4().hex[:6]}@Test.Example"},
    )
    assert changed["name"] == "Dora Dee"
    assert changed["email"] == changed["email"].lower()  # stored lower-cased
    # The new email works for login; and a password change takes effect.
    await api.call("PATCH", f"/api/users/{user['id']}", admin, {"password": "a-new-password"})
    token = await api.login(changed["email"].upper(), "a-new-password")

    await api.call("PATCH", f"/api/users/{user['id']}", admin, {"disabled": True})
    # A disabled account's token stops working at once, and it cannot log in.
    await api.call("GET", "/api/me", token, expect=401)
    r = await api.http.post(
        "/api/auth/login", json={"email": changed["email"], "password": "a-new-password"}
    )
    assert r.status_code == 401

    await api.call("DELETE", f"/api/users/{user['id']}", admin, expect=204)
    await api.call("GET", f"/api/users/{user['id']}", admin, expect=404)


async def test_user_changes_that_would_lose_records_or_access_are_refused(api: Api) -> None:
    admin = await api.admin_token()
    room = await make_classroom(api, n_students=1, start=False)
    student = room.students[0]
    # An enrolled student has records: deleting would lose them, so disabling is offered.
    problem = await api.call("DELETE", f"/api/users/{student['id']}", admin, expect=409)
    assert "disable" in problem["detail"]
    problem = await api.call(
        "PATCH", f"/api/users/{student['id']}", admin, {"role": "tutor"}, expect=409
    )
    assert "role" in problem["detail"]
    me = await api.call("GET", "/api/me", admin)
    for change in ({"disabled": True}, {"role": "student"}):
        await api.call("PATCH", f"/api/users/{me['id']}", admin, change, expect=409)
    await api.call("DELETE", f"/api/users/{me['id']}", admin, expect=409)
    # Taking another user's email, in any case, is a conflict.
    problem = await api.call(
        "PATCH",
        f"/api/users/{student['id']}",
        admin,
        {"email": room.tutor["email"].upper()},
        expect=409,
    )
    assert "email" in problem["detail"]
    await api.call("PATCH", f"/api/users/{student['id']}", admin, {"name": None}, expect=422)
    await api.call("PATCH", f"/api/users/{student['id']}", admin, {"nick": "x"}, expect=422)


async def test_course_lists_are_scoped_by_role(api: Api) -> None:
    mine = await make_classroom(api, n_students=1, start=False)
    other = await make_classroom(api, n_students=1, start=False)

    async def course_ids(token: str) -> set[str]:
        return {c["id"] for c in await walk(api, "/api/courses", token, limit=50)}

    assert {mine.course_id, other.course_id} <= await course_ids(mine.admin)
    assert await course_ids(mine.tutor["token"]) == {mine.course_id}
    assert await course_ids(mine.students[0]["token"]) == {mine.course_id}
    assert await course_ids(other.students[0]["token"]) == {other.course_id}


async def test_a_course_policy_patch_merges_and_is_checked_as_a_whole(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    path = f"/api/courses/{room.course_id}"
    before = await api.call("GET", path, room.admin)
    after = await api.call(
        "PATCH", path, room.admin, {"title": "Night driving", "policy": {"evidence": "failures"}}
    )
    assert after["title"] == "Night driving"
    assert after["policy"]["evidence"] == "failures"
    assert after["policy"]["interval_min_s"] == before["policy"]["interval_min_s"]
    # interval_min_s above the stored interval_max_s makes an invalid whole.
    problem = await api.call(
        "PATCH", path, room.admin, {"policy": {"interval_min_s": 7200}}, expect=422
    )
    assert "interval_min_s" in problem["detail"]
    assert (await api.call("GET", path, room.admin))["policy"] == after["policy"]
    student = await api.add_user(room.admin, "student", "Not a tutor")
    problem = await api.call("PATCH", path, room.admin, {"tutor_id": student["id"]}, expect=422)
    assert problem["detail"].startswith("tutor_id:")


async def test_enrolments_are_listed_and_removed(api: Api) -> None:
    room = await make_classroom(api, n_students=3, start=False)
    path = f"/api/courses/{room.course_id}/enrollments"
    listed = await walk(api, path, room.tutor["token"], limit=2)
    assert sorted(e["student_id"] for e in listed) == sorted(s["id"] for s in room.students)
    assert [e["name"] for e in listed] == sorted(e["name"] for e in listed)
    gone = room.students[1]["id"]
    await api.call("DELETE", f"{path}/{gone}", room.admin, expect=204)
    await api.call("DELETE", f"{path}/{gone}", room.admin, expect=404)
    listed = await walk(api, path, room.admin, limit=50)
    assert gone not in {e["student_id"] for e in listed}
    # The student no longer sees the course.
    await api.call("GET", f"/api/courses/{room.course_id}", room.students[1]["token"], expect=404)


async def test_lessons_are_listed_per_course_and_for_the_caller(api: Api) -> None:
    room = await make_classroom(api, n_students=1)  # one live lesson
    later = await api.call(
        "POST",
        f"/api/courses/{room.course_id}/lessons",
        room.tutor["token"],
        {
            "title": "Later",
            "scheduled_start": "2030-01-01T09:00:00+00:00",
            "scheduled_end": "2030-01-01T10:00:00+00:00",
        },
        expect=201,
    )
    course_lessons = await walk(api, f"/api/courses/{room.course_id}/lessons", room.admin, 1)
    assert [x["id"] for x in course_lessons] == [room.lesson_id, later["id"]]
    assert {x["course_title"] for x in course_lessons} == {"Road safety"}
    student = room.students[0]["token"]
    live = await walk(api, "/api/lessons", student, 50, status="live")
    assert [x["id"] for x in live] == [room.lesson_id]
    upcoming = await walk(api, "/api/lessons", student, 50, status="live,scheduled")
    assert {x["id"] for x in upcoming} == {room.lesson_id, later["id"]}
    other = await make_classroom(api, n_students=1, start=False)
    assert await walk(api, "/api/lessons", other.students[0]["token"], 50, status="live") == []


async def test_every_admin_write_is_in_the_audit_trail(api: Api) -> None:
    room = await make_classroom(api, n_students=1)
    admin = room.admin
    user = await api.add_user(admin, "student", "Audited")
    await api.call("PATCH", f"/api/users/{user['id']}", admin, {"name": "Audited Two"})
    await api.call("PATCH", f"/api/courses/{room.course_id}", admin, {"title": "Audited course"})
    await api.call(
        "DELETE",
        f"/api/courses/{room.course_id}/enrollments/{room.students[0]['id']}",
        admin,
        expect=204,
    )
    await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
    await api.call("DELETE", f"/api/users/{user['id']}", admin, expect=204)

    entries = await walk(api, "/api/audit", admin, limit=3)
    times = [e["at"] for e in entries]
    assert times == sorted(times, reverse=True), "newest first"
    me = await api.call("GET", "/api/me", admin)
    by_target = {(e["action"], e["target_id"]): e for e in entries}
    for action, target, actor in [
        ("user.create", user["id"], me["id"]),
        ("user.update", user["id"], me["id"]),
        ("user.delete", user["id"], me["id"]),
        ("course.create", room.course_id, me["id"]),
        ("course.update", room.course_id, me["id"]),
        ("enrolment.add", room.course_id, me["id"]),
        ("enrolment.remove", room.course_id, me["id"]),
        ("lesson.create", room.lesson_id, room.tutor["id"]),
        ("lesson.start", room.lesson_id, room.tutor["id"]),
        ("lesson.end", room.lesson_id, room.tutor["id"]),
    ]:
        entry = by_target.get((action, target))
        assert entry is not None, f"{action} on {target} not audited"
        assert entry["actor_id"] == actor
    filtered = await walk(api, "/api/audit", admin, limit=50, target_id=user["id"])
    assert [e["action"] for e in filtered] == ["user.delete", "user.update", "user.create"]
    # Passwords never reach the trail. (The server is shared by the whole session, so only this
    # test's own records are read for the word: other tests write injection strings such as
    # "SELECT password_hash" into names. A change lists the fields it changed, "password" among
    # them; never a value.)
    mine = {user["id"], room.course_id, room.lesson_id, *(s["id"] for s in room.students)}
    own = [e for e in entries if e["target_id"] in mine]
    assert len(own) >= 9
    assert all(
        "password" not in str({k: v for k, v in (e["detail"] or {}).items() if k != "fields"})
        for e in own
    )
    assert PASSWORD not in str(entries)
