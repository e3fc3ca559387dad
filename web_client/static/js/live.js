// One Socket.IO connection to a lesson, with its state in words for the page.
// The client library is served by this app from npm's package (/static/vendor/), never a CDN.
import { io } from "/static/vendor/socket.io.esm.min.js";

const RETRY_REFUSED_MS = { unavailable: 5000, lesson_not_live: 10000 };

/**
 * Connect to `namespace` for a lesson. `onStatus(kind, text)` hears the connection state
 * (`connecting`, `connected`, `reconnecting`, `closed`); `onRefused(code, message)` hears a
 * refusal by the server (docs/protocol.md, "Refusals") and may return true to try again
 * later. Returns the socket and a `stop()` that closes it for good.
 */
export function joinLesson(namespace, lessonId, token, { onStatus, onRefused }) {
  let stopped = false;
  let retry = null;
  const socket = io(namespace, {
    auth: { token, lesson_id: lessonId },
    // The defaults (long-polling first, then an upgrade to WebSocket) get through proxies
    // that refuse WebSockets; reconnection with backoff is on by default.
    reconnectionDelayMax: 10000,
  });
  onStatus("connecting", "Connecting…");

  socket.on("connect", () => onStatus("connected", "Connected"));
  socket.on("disconnect", (reason) => {
    if (stopped) return;
    if (reason === "io server disconnect") {
      // The server closed this socket on purpose; Socket.IO will not retry by itself.
      onStatus("reconnecting", "Disconnected by the server — reconnecting…");
      retry = setTimeout(() => socket.connect(), 2000);
    } else {
      onStatus("reconnecting", "Connection lost — reconnecting…");
    }
  });
  socket.io.on("reconnect_attempt", (attempt) => {
    if (!stopped) onStatus("reconnecting", `Reconnecting… (attempt ${attempt})`);
  });
  socket.on("connect_error", (error) => {
    if (stopped) return;
    const code = error?.data?.code;
    if (!code) {
      // The network or the server is down: the manager keeps retrying with backoff.
      onStatus("reconnecting", "Cannot reach the server — reconnecting…");
      return;
    }
    const again = onRefused(code, error.message);
    if (again && RETRY_REFUSED_MS[code]) {
      // A refused socket does not retry by itself.
      retry = setTimeout(() => socket.connect(), RETRY_REFUSED_MS[code]);
    } else if (!again) {
      onStatus("closed", "Not connected");
    }
  });

  return {
    socket,
    stop() {
      stopped = true;
      clearTimeout(retry);
      socket.disconnect();
    },
  };
}
