// Building the console's DOM: elements and SVG nodes made from attributes and children, never
// from HTML strings, so nothing the responder returns is parsed as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The page's element with this id. */
export const $ = (id) => document.getElementById(id);

/**
 * An element with attributes (`class`, `title`, data-*, …; `style` as an object, set through the
 * CSSOM, which the page's Content-Security-Policy allows) and children (nodes or text).
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'style') Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An SVG element with attributes and, optionally, text. */
export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}
