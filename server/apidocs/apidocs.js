// Renders /api/openapi.json as a readable page. Every string from the document is inserted as
// text, never as HTML.

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
};

const refName = (schema) => (schema && schema.$ref ? schema.$ref.split("/").pop() : null);

const schemaLink = (schema) => {
  const name = refName(schema);
  if (name) return el("a", { href: `#schema-${name}` }, name);
  return el("code", {}, schema ? JSON.stringify(schema) : "—");
};

function renderOperation(path, method, op) {
  const id = `${method}-${path}`.replace(/[^a-zA-Z0-9-]/g, "-");
  const section = el("section", { id, class: "operation" });
  section.append(
    el("h3", {}, el("span", { class: `method ${method}` }, method.toUpperCase()), " ", el("code", {}, path)),
    el("p", {}, op.summary || ""),
    el("p", { class: "access" }, op.description || ""),
  );
  if (op.parameters && op.parameters.length) {
    const list = el("ul");
    for (const p of op.parameters) {
      list.append(el("li", {}, el("code", {}, p.name), ` (${p.in}) `, p.description || ""));
    }
    section.append(el("h4", {}, "Parameters"), list);
  }
  if (op.requestBody) {
    const [type, body] = Object.entries(op.requestBody.content)[0];
    section.append(el("h4", {}, "Body"), el("p", {}, `${type}: `, schemaLink(body.schema)));
  }
  const responses = el("ul");
  for (const [status, response] of Object.entries(op.responses)) {
    const item = el("li", {}, el("strong", {}, status), " ", response.description || "");
    if (response.content) {
      const [type, body] = Object.entries(response.content)[0];
      item.append(" — ", `${type} `, schemaLink(body.schema));
    }
    responses.append(item);
  }
  section.append(el("h4", {}, "Responses"), responses);
  return [id, section];
}

async function main() {
  const intro = document.getElementById("intro");
  let doc;
  try {
    const response = await fetch("/api/openapi.json");
    doc = await response.json();
  } catch (error) {
    intro.textContent = `Could not load the API document: ${error}`;
    return;
  }
  intro.textContent = `${doc.info.title} ${doc.info.version}. ${doc.info.description}`;
  const toc = document.getElementById("toc");
  const operations = document.getElementById("operations");
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const [id, section] = renderOperation(path, method, op);
      operations.append(section);
      toc.append(el("li", {}, el("a", { href: `#${id}` }, `${method.toUpperCase()} ${path}`)));
    }
  }
  const schemas = document.getElementById("schemas");
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.append(
      el("h3", { id: `schema-${name}` }, name),
      el("pre", {}, JSON.stringify(schema, null, 2)),
    );
  }
}

main();
