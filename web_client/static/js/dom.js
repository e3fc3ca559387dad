// Building the page from data. Every string from the server (names, titles, hints) goes
// through textContent or a Text node, never through innerHTML: a name is text, never markup.

/**
 * Create an element. `props` keys: `class`, `text`, `dataset` (object), `on<event>`
 * (listener); anything else becomes an attribute. Children may be nodes or strings.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    // append() turns a string into a Text node: it is never parsed as HTML.
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}

export function setText(node, text) {
  node.textContent = text ?? "";
}

export function show(node, visible = true) {
  node.hidden = !visible;
}

/** Show a message in a notice element (hidden when `text` is empty). */
export function notice(node, text, tone = "info") {
  node.textContent = text ?? "";
  node.dataset.tone = tone;
  node.hidden = !text;
}

export function clock(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function dateTime(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return at.toLocaleString([], {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** "just now", "42 s ago", "5 min ago", "2 h ago". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

export function percent(ratio) {
  return typeof ratio === "number" ? `${Math.round(ratio * 100)} %` : "—";
}
