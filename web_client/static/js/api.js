// The HTTP API and the signed-in session. The bearer token lives in sessionStorage: it is
// gone when the tab closes, and each tab (a tutor's, a student's) keeps its own.

const TOKEN_KEY = "tl.token";
const USER_KEY = "tl.user";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const user = sessionStorage.getItem(USER_KEY);
  if (!token || !user) return null;
  try {
    return { token, user: JSON.parse(user) };
  } catch {
    return null;
  }
}

export function saveSession(login) {
  sessionStorage.setItem(TOKEN_KEY, login.access_token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(login.user));
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** A same-origin path to return to after signing in, or null for anything else. */
export function safeNext(value) {
  if (typeof value !== "string" || !value.startsWith("/")) return null;
  if (value.startsWith("//") || value.startsWith("/\\")) return null;
  return value;
}

export function loginUrl(next) {
  const back = safeNext(next);
  return back ? `/?next=${encodeURIComponent(back)}` : "/";
}

/** Leave for the login page, coming back here afterwards. */
export function signInAgain() {
  clearSession();
  location.assign(loginUrl(location.pathname));
}

/** The session, or null after sending the browser to the login page. */
export function requireSession() {
  const current = session();
  if (!current) location.replace(loginUrl(location.pathname));
  return current;
}

/** The lesson id in this page's address (/student/lessons/<id>, /tutor/lessons/<id>). */
export function lessonIdFromPath() {
  const match = location.pathname.match(/\/lessons\/([0-9a-fA-F-]{36})\/?$/);
  return match ? match[1].toLowerCase() : null;
}

/**
 * Call the API. Resolves to the parsed JSON (or the Response with `raw`); rejects with an
 * ApiError carrying the status and the problem's `detail`. An expired token sends the
 * browser back to the login page.
 */
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const current = session();
  const headers = { accept: "application/json" };
  if (current) headers.authorization = `Bearer ${current.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  }
  if (!response.ok) {
    let detail = response.statusText || `HTTP ${response.status}`;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch {
      // not a problem document: keep the status text
    }
    if (response.status === 401 && current) {
      signInAgain();
    }
    throw new ApiError(response.status, detail);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/**
 * Sign out: the server ends this tab's token (and closes its sockets), then the tab forgets
 * it. Whatever the server answers, the tab forgets the token and goes to the login page.
 */
export async function signOut() {
  const current = session();
  if (current) {
    try {
      await fetch("/api/auth/logout", {
        method: "POST",
        headers: { authorization: `Bearer ${current.token}` },
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch {
      // offline: the token still ends when it expires
    }
  }
  clearSession();
  location.assign("/");
}

/** Fill the page header's "signed in as" and wire its sign-out button. */
export function showSignedIn(user, nameNode, signOutButton) {
  nameNode.textContent = `${user.name} (${user.role})`;
  signOutButton.addEventListener("click", signOut);
}
