// A few DOM helpers. Text always goes in through textContent, never innerHTML: job texts, skill names and course
// fields come from users and the catalog.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A new element: h("a", {href: url, class: "course"}, "text", child). Attributes whose value is null, undefined
 *  or false are left out; `true` sets an empty attribute; functions under "on..." become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Shows or hides an element. */
export function show(element, visible) {
  element.hidden = !visible;
}
