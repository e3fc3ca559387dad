"""The private parts of uvicorn, python-socketio, python-engineio and mediapipe the server uses.

Each entry below names one attribute, method or behaviour that is not part of a library's
documented API, where the project relies on it, and checks that the installed version still has
it, with the parameters the project passes or overrides. An upgrade that removes or changes one
fails here with its name, before a load test or a user finds out; docs/library-internals.md says
why each is used and what to do then.

Run as a script (``python -m tests.contracts.test_library_internals``) it prints every entry
with OK or BROKEN and exits 1 if any is broken.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

DOC = "docs/library-internals.md"


class Broken(AssertionError):
    """An internal the project relies on is gone or changed."""


@dataclass(frozen=True)
class Internal:
    name: str
    used_by: str
    check: Callable[[], None]

    def __str__(self) -> str:
        return self.name

    def problem(self) -> str | None:
        """What is wrong with it in the installed libraries, or None."""
        try:
            self.check()
        except Broken as exc:
            return str(exc)
        except (ImportError, AttributeError, TypeError, OSError) as exc:
            # A module or class moved or renamed: broken as well.
            return f"{type(exc).__name__}: {exc}"
        return None


# -- how things are checked ---------------------------------------------------------------------


def _get(owner: Any, attr: str) -> Any:
    try:
        return getattr(owner, attr)
    except AttributeError:
        raise Broken(f"{_name(owner)} has no attribute {attr!r}") from None


def _name(owner: Any) -> str:
    return getattr(owner, "__qualname__", None) or type(owner).__qualname__


def _params(owner: Any, method: str, expected: Iterable[str], *, called_only: bool = False) -> None:
    """``owner.method`` exists and takes exactly ``expected`` (after ``self``); a ``*``/``**``
    entry stands for a variadic parameter. A method the project overrides must keep its
    parameters: the library calls the override with them. One the project only calls
    (``called_only``) may gain parameters, as long as they have defaults."""
    func = _get(owner, method)
    names, optional = [], []
    for p in inspect.signature(func).parameters.values():
        if p.name == "self":
            continue
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        names.append(prefix + p.name)
        optional.append(bool(prefix) or p.default is not p.empty)
    expected = list(expected)
    same = names == expected
    if called_only:
        same = names[: len(expected)] == expected and all(optional[len(expected) :])
    if not same:
        raise Broken(
            f"{_name(owner)}.{method} takes ({', '.join(names)}); the project relies on "
            f"({', '.join(expected)})"
        )


def _is_coroutine(owner: Any, method: str) -> None:
    if not inspect.iscoroutinefunction(_get(owner, method)):
        raise Broken(f"{_name(owner)}.{method} is no longer a coroutine function")


def _source(obj: Any) -> str:
    return inspect.getsource(obj)


def _sets(cls: type, *attrs: str) -> None:
    """Each of ``attrs`` is assigned as ``self.<attr>`` somewhere in ``cls`` or its bases."""
    text = "\n".join(_source(c) for c in cls.__mro__ if c is not object)
    for attr in attrs:
        if not re.search(rf"self\.{attr}\s*(:[^=\n]*)?=[^=]", text):
            raise Broken(f"{cls.__qualname__} no longer sets self.{attr}")


def _says(obj: Any, pattern: str, meaning: str) -> None:
    if not re.search(pattern, _source(obj)):
        raise Broken(f"{_name(obj)} no longer {meaning}")


def _uses_only(cls: type, attr: str, allowed: Iterable[str], substitute: str) -> None:
    """What ``cls`` calls on ``self.<attr>`` is all offered by the project's ``substitute``."""
    text = "\n".join(_source(c) for c in cls.__mro__ if c is not object)
    used = set(re.findall(rf"self\.{attr}\.(\w+)", text))
    missing = sorted(used - set(allowed))
    if missing:
        raise Broken(
            f"{cls.__qualname__} now calls self.{attr}.{', '.join(missing)}, "
            f"which {substitute} does not have"
        )


def _public_methods(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


# -- python-socketio ------------------------------------------------------------------------------


def _sio_handle_eio_message() -> None:
    import socketio

    _params(socketio.AsyncServer, "_handle_eio_message", ["eio_sid", "data"])
    _is_coroutine(socketio.AsyncServer, "_handle_eio_message")
    _says(
        socketio.AsyncServer._handle_eio_message,
        r"self\.packet_class\(\s*encoded_packet=data",
        "decodes packets with self.packet_class inside _handle_eio_message",
    )


def _sio_engineio_server_class() -> None:
    import engineio
    import socketio
    from socketio import base_server

    _params(socketio.AsyncServer, "_engineio_server_class", [])
    _says(
        base_server.BaseServer.__init__,
        r"self\.eio\s*=\s*self\._engineio_server_class\(\)\(",
        "builds self.eio from self._engineio_server_class()",
    )
    bare = socketio.AsyncServer.__new__(socketio.AsyncServer)
    made = socketio.AsyncServer._engineio_server_class(bare)
    if not (isinstance(made, type) and issubclass(made, engineio.AsyncServer)):
        raise Broken("AsyncServer._engineio_server_class() no longer returns engineio.AsyncServer")


def _sio_send_eio_packet() -> None:
    import socketio

    _params(socketio.AsyncServer, "_send_eio_packet", ["eio_sid", "eio_pkt"], called_only=True)
    _is_coroutine(socketio.AsyncServer, "_send_eio_packet")


def _sio_serializer_packet_class() -> None:
    import socketio

    class Marked(socketio.packet.Packet):  # type: ignore[misc]
        pass

    server = socketio.AsyncServer(async_mode="asgi", serializer=Marked)
    if _get(server, "packet_class") is not Marked:
        raise Broken("AsyncServer(serializer=<Packet subclass>) no longer sets packet_class")
    if not hasattr(server, "eio") or not hasattr(server, "manager"):
        raise Broken("AsyncServer no longer has .eio and .manager")


def _sio_packet_decode() -> None:
    from socketio import packet

    calls: list[str] = []

    class Recording(packet.Packet):  # type: ignore[misc]
        def decode(self, encoded_packet: Any) -> Any:
            calls.append(encoded_packet)
            return super().decode(encoded_packet)

    encoded = '51-/student,["capture",{"_placeholder":true,"num":0}]'
    _params(packet.Packet, "decode", ["encoded_packet"])
    if packet.Packet().decode(encoded) != 1:
        raise Broken("Packet.decode no longer returns the number of binary attachments")
    if Recording(encoded_packet=encoded).attachment_count != 1 or calls != [encoded]:
        raise Broken("Packet(encoded_packet=...) no longer sets attachment_count from decode()")


def _sio_manager_state() -> None:
    import socketio

    manager = socketio.AsyncManager()
    for attr in ("rooms", "callbacks", "pending_connect", "pending_disconnect", "server"):
        _get(manager, attr)
    manager.basic_enter_room("sid1", "/student", None, eio_sid="eio1")
    manager.basic_enter_room("sid1", "/student", "lesson", eio_sid="eio1")
    if manager.rooms.get("/student", {}).get("lesson", {}).get("sid1") != "eio1":
        raise Broken("AsyncManager.rooms is no longer {namespace: {room: {sid: eio_sid}}}")
    if list(manager.get_participants("/student", "lesson")) != [("sid1", "eio1")]:
        raise Broken("AsyncManager.get_participants no longer yields (sid, eio_sid)")


def _sio_manager_methods() -> None:
    from socketio import base_manager

    manager = base_manager.BaseManager
    _params(manager, "basic_enter_room", ["sid", "namespace", "room", "eio_sid"])
    _params(manager, "basic_leave_room", ["sid", "namespace", "room"])
    _params(manager, "basic_disconnect", ["sid", "namespace", "**kwargs"])
    _params(manager, "get_rooms", ["sid", "namespace"])
    _params(manager, "get_participants", ["namespace", "room"], called_only=True)
    _params(manager, "is_connected", ["sid", "namespace"], called_only=True)


def _sio_basic_disconnect_state() -> None:
    from socketio import base_manager

    # realtime/rooms.py replaces basic_disconnect: it must clear everything the original does.
    handled = {
        "rooms",
        "callbacks",
        "pending_connect",
        "pending_disconnect",
        "basic_leave_room",
        "get_rooms",
    }
    used = set(re.findall(r"self\.(\w+)", _source(base_manager.BaseManager.basic_disconnect)))
    if unhandled := sorted(used - handled):
        raise Broken(
            "BaseManager.basic_disconnect now also touches self."
            + ", self.".join(unhandled)
            + ", which IndexedRooms.basic_disconnect does not"
        )


def _sio_manager_emit() -> None:
    import socketio
    from socketio.async_pubsub_manager import AsyncPubSubManager

    params = ["event", "data", "namespace", "room", "skip_sid", "callback", "to", "**kwargs"]
    _params(socketio.AsyncManager, "emit", params)
    _params(socketio.AsyncRedisManager, "emit", params)
    _says(
        AsyncPubSubManager.emit,
        r"kwargs\.get\(\s*['\"]ignore_queue['\"]\s*\)",
        "honours emit(..., ignore_queue=True)",
    )


def _sio_handle_emit() -> None:
    from socketio.async_pubsub_manager import AsyncPubSubManager

    _params(AsyncPubSubManager, "_handle_emit", ["message"])
    _is_coroutine(AsyncPubSubManager, "_handle_emit")
    emit = _source(AsyncPubSubManager.emit)
    for key in ("event", "data", "binary", "namespace", "room", "skip_sid", "callback"):
        if f"'{key}':" not in emit and f'"{key}":' not in emit:
            raise Broken(f"AsyncPubSubManager.emit no longer publishes the message key {key!r}")


def _sio_namespace_and_asgi() -> None:
    import socketio

    _params(socketio.AsyncNamespace, "trigger_event", ["event", "*args"])
    _params(socketio.AsyncServer, "get_environ", ["sid", "namespace"], called_only=True)
    other = object()
    app = socketio.ASGIApp(socketio.AsyncServer(async_mode="asgi"), other_asgi_app=other)
    if _get(app, "other_asgi_app") is not other:
        raise Broken("ASGIApp no longer keeps other_asgi_app")


# -- python-engineio ------------------------------------------------------------------------------


def _eio_trigger_event() -> None:
    import engineio

    _params(engineio.AsyncServer, "_trigger_event", ["event", "*args", "**kwargs"])
    _is_coroutine(engineio.AsyncServer, "_trigger_event")
    _says(
        engineio.AsyncServer._handle_connect,
        r"_trigger_event\(\s*['\"]connect['\"],\s*sid,\s*environ",
        "triggers 'connect' with (sid, environ)",
    )


def _eio_asgi_body_reader() -> None:
    from engineio.async_drivers import asgi

    _says(
        asgi.translate_request,
        r"['\"]wsgi\.input['\"]",
        "puts the request's body reader in environ['wsgi.input']",
    )


def _eio_create_queue() -> None:
    import engineio
    from engineio import async_socket, base_socket

    from realtime.transport import LeanQueue

    _params(engineio.AsyncServer, "create_queue", ["*args", "**kwargs"])
    _says(
        base_socket.BaseSocket.__init__,
        r"self\.queue\s*=\s*self\.server\.create_queue\(\)",
        "makes each socket's queue with server.create_queue()",
    )
    _uses_only(async_socket.AsyncSocket, "queue", _public_methods(LeanQueue), "LeanQueue")


def _eio_sessions() -> None:
    import engineio
    from engineio import async_socket

    server = engineio.AsyncServer(async_mode="asgi")
    if not isinstance(_get(server, "sockets"), dict):
        raise Broken("AsyncServer.sockets is no longer a dict of sessions")
    _get(_get(server, "reason"), "TRANSPORT_ERROR")
    _params(async_socket.AsyncSocket, "close", ["wait", "abort", "reason"], called_only=True)
    _sets(async_socket.AsyncSocket, "upgraded", "queue")


def _eio_packet() -> None:
    from engineio import packet

    _get(packet, "MESSAGE")
    _params(packet.Packet, "__init__", ["packet_type", "data"], called_only=True)


# -- uvicorn --------------------------------------------------------------------------------------


def _uvicorn_sansio_protocol() -> None:
    from uvicorn.protocols.websockets import websockets_sansio_impl

    from realtime.transport import LeanEvent, LeanQueue

    protocol = _get(websockets_sansio_impl, "WebSocketsSansIOProtocol")
    _sets(protocol, "queue", "writable", "handshake_complete", "request", "response")
    _uses_only(protocol, "queue", _public_methods(LeanQueue), "LeanQueue")
    _uses_only(protocol, "writable", _public_methods(LeanEvent), "LeanEvent")
    _params(protocol, "send", ["message"])
    _is_coroutine(protocol, "send")


def _uvicorn_server() -> None:
    import uvicorn

    _params(uvicorn.Server, "handle_exit", ["sig", "frame"])
    _params(uvicorn.Server, "serve", ["sockets"])
    _is_coroutine(uvicorn.Server, "serve")
    _sets(uvicorn.Server, "should_exit", "started")
    config_params = inspect.signature(uvicorn.Config.__init__).parameters
    for option in ("ws", "ws_max_size", "ws_per_message_deflate", "ws_ping_interval"):
        if option not in config_params:
            raise Broken(f"uvicorn.Config no longer takes {option}")


# -- mediapipe ------------------------------------------------------------------------------------


def _mediapipe_solution_base() -> None:
    from mediapipe.python import solution_base

    base = solution_base.SolutionBase
    _sets(
        base,
        "_graph",
        "_graph_outputs",
        "_simulated_timestamp",
        "_input_stream_type_info",
        "_output_stream_type_info",
    )
    _params(base, "_make_packet", ["packet_data_type", "data"], called_only=True)
    _params(base, "_get_packet_content", ["packet_data_type", "output_packet"], called_only=True)
    _says(
        base.process,
        r"self\._simulated_timestamp \+= 33333",
        "advances _simulated_timestamp by 33333 per frame",
    )
    _says(base.process, r"self\._graph\.wait_until_idle\(\)", "waits with _graph.wait_until_idle()")


INTERNALS = [
    Internal(
        "socketio.AsyncServer._handle_eio_message(eio_sid, data)",
        "realtime/limits.py LimitedServer (overrides)",
        _sio_handle_eio_message,
    ),
    Internal(
        "socketio.AsyncServer._engineio_server_class()",
        "realtime/socket_server.py SocketServer (overrides)",
        _sio_engineio_server_class,
    ),
    Internal(
        "socketio.AsyncServer._send_eio_packet(eio_sid, eio_pkt)",
        "realtime/rooms.py deliver (calls)",
        _sio_send_eio_packet,
    ),
    Internal(
        "socketio.AsyncServer(serializer=...).packet_class",
        "realtime/limits.py LimitedServer, realtime/rooms.py deliver",
        _sio_serializer_packet_class,
    ),
    Internal(
        "socketio.packet.Packet.decode(encoded_packet) -> attachment count",
        "realtime/limits.py LimitedPacket (overrides)",
        _sio_packet_decode,
    ),
    Internal(
        "socketio manager state: rooms, callbacks, pending_connect, pending_disconnect, server",
        "realtime/rooms.py IndexedRooms, deliver",
        _sio_manager_state,
    ),
    Internal(
        "socketio.base_manager.BaseManager basic_enter_room/basic_leave_room/basic_disconnect/"
        "get_rooms/get_participants/is_connected",
        "realtime/rooms.py IndexedRooms (overrides), realtime/namespaces.py (calls)",
        _sio_manager_methods,
    ),
    Internal(
        "socketio.base_manager.BaseManager.basic_disconnect clears only what the override clears",
        "realtime/rooms.py IndexedRooms.basic_disconnect (replaces)",
        _sio_basic_disconnect_state,
    ),
    Internal(
        "socketio.AsyncManager.emit / AsyncRedisManager.emit parameters and ignore_queue",
        "realtime/rooms.py RoomManager, RedisRoomManager (override)",
        _sio_manager_emit,
    ),
    Internal(
        "socketio.AsyncPubSubManager._handle_emit(message) and the message's keys",
        "realtime/rooms.py RedisRoomManager (overrides)",
        _sio_handle_emit,
    ),
    Internal(
        "socketio.AsyncNamespace.trigger_event(event, *args), ASGIApp.other_asgi_app",
        "realtime/namespaces.py (overrides), server/cli.py (reads)",
        _sio_namespace_and_asgi,
    ),
    Internal(
        "engineio.AsyncServer._trigger_event(event, *args, **kwargs), 'connect' (sid, environ)",
        "realtime/transport.py LeanEngineIOServer (overrides)",
        _eio_trigger_event,
    ),
    Internal(
        "engineio ASGI driver: environ['wsgi.input']",
        "realtime/transport.py LeanEngineIOServer (drops it)",
        _eio_asgi_body_reader,
    ),
    Internal(
        "engineio.AsyncServer.create_queue() and the socket's use of its queue",
        "realtime/transport.py LeanEngineIOServer, LeanQueue (replaces the queue)",
        _eio_create_queue,
    ),
    Internal(
        "engineio.AsyncServer.sockets, .reason, AsyncSocket.close(wait, abort, reason), "
        ".upgraded, .queue",
        "realtime/limits.py close_session (reads, calls)",
        _eio_sessions,
    ),
    Internal(
        "engineio.packet.Packet(packet_type, data), MESSAGE",
        "realtime/rooms.py deliver (builds)",
        _eio_packet,
    ),
    Internal(
        "uvicorn WebSocketsSansIOProtocol: queue, writable, handshake_complete, request, "
        "response, send(message)",
        "server/websocket_protocol.py LeanWebSocketProtocol (subclasses)",
        _uvicorn_sansio_protocol,
    ),
    Internal(
        "uvicorn.Server.handle_exit(sig, frame), serve(sockets), should_exit, started",
        "server/serving.py DrainingServer (overrides); the tests' in-thread servers (read, set)",
        _uvicorn_server,
    ),
    Internal(
        "mediapipe SolutionBase: _graph, _graph_outputs, _simulated_timestamp, "
        "_input/_output_stream_type_info, _make_packet, _get_packet_content",
        "vision/_graphs.py _process (reads, calls)",
        _mediapipe_solution_base,
    ),
]


@pytest.mark.parametrize("internal", INTERNALS, ids=str)
def test_library_internal_is_still_there(internal: Internal) -> None:
    if (problem := internal.problem()) is not None:
        pytest.fail(f"{internal.name}, relied on by {internal.used_by}: {problem}. See {DOC}.")


def main() -> int:
    broken = 0
    for internal in INTERNALS:
        if (problem := internal.problem()) is None:
            print(f"OK      {internal.name}")
        else:
            broken += 1
            print(f"BROKEN  {internal.name}\n        relied on by {internal.used_by}: {problem}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
