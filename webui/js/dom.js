// dom.js builds DOM nodes. Text always goes in through textContent or text
// nodes, never through innerHTML, so user-supplied strings cannot inject markup.

/**
 * el creates an element.
 *
 *   el('button', { type: 'button', class: 'primary', onclick: save }, 'Save')
 *
 * attrs: `class` sets className, `text` sets textContent, `dataset` and `style`
 * take objects, `on<event>` with a function adds a listener, `true` sets a
 * boolean attribute, `false`/null/undefined are skipped; anything else is set
 * with setAttribute. children: nodes, strings (as text), arrays, null (skipped).
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** svg creates an element in the SVG namespace with the same rules as el. */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** append adds children (nodes, strings as text, nested arrays) to node. */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** clear removes every child of node. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

let idCounter = 0;

/** uid returns a document-unique id for label/aria wiring. */
export function uid(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

function setAttrs(node, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === 'class') {
      node.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'text') {
      node.textContent = String(value);
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (key === 'style' && typeof value === 'object') {
      Object.assign(node.style, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) {
      node.setAttribute(key, '');
    } else {
      node.setAttribute(key, String(value));
    }
  }
}
