// popover.js floats a small panel or menu next to the button that opened
// it (the call's "more" menu, a tile's host controls, the reaction picker).
// One popover is open at a time; Escape or a click elsewhere closes it and
// focus goes back to the button. Menus follow the menu-button pattern:
// arrow keys move, Home/End jump, Tab leaves.
import { el } from './dom.js';
import { icon } from './icons.js';

let current = null;

/**
 * openPopover shows content (a node) next to anchor. opts: {label,
 * placement: 'above' | 'below', className, onClose}. Returns {node, close}.
 */
export function openPopover(anchor, content, { label, placement = 'below', className = '', onClose, role = 'dialog' } = {}) {
  current?.close({ restoreFocus: false });
  const node = el('div', { class: ['popover', className], role, 'aria-label': label }, content);
  // Inside a modal <dialog> or a full-screen layer, the popover must live in
  // the same top layer to be visible and clickable.
  const host = anchor.closest('dialog[open]') || document.body;
  host.append(node);

  const place = () => {
    const r = anchor.getBoundingClientRect();
    const w = node.offsetWidth;
    const h = node.offsetHeight;
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    let left = Math.min(Math.max(8, r.left + r.width / 2 - w / 2), vw - w - 8);
    let top = placement === 'above' ? r.top - h - 8 : r.bottom + 8;
    if (top < 8) top = r.bottom + 8;
    if (top + h > vh - 8) top = Math.max(8, r.top - h - 8);
    if (left < 8) left = 8;
    node.style.setProperty('--pop-left', `${Math.round(left)}px`);
    node.style.setProperty('--pop-top', `${Math.round(top)}px`);
  };
  place();

  const api = {
    node,
    anchor,
    close({ restoreFocus = true } = {}) {
      if (current !== api) return;
      current = null;
      node.remove();
      anchor.setAttribute('aria-expanded', 'false');
      document.removeEventListener('pointerdown', onOutside, true);
      window.removeEventListener('resize', onResize);
      if (restoreFocus && anchor.isConnected) anchor.focus({ preventScroll: true });
      onClose?.();
    },
    place,
  };
  const onOutside = (event) => {
    if (!node.contains(event.target) && !anchor.contains(event.target)) api.close({ restoreFocus: false });
  };
  const onResize = () => api.close({ restoreFocus: false });
  node.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      api.close();
    }
  });
  document.addEventListener('pointerdown', onOutside, true);
  window.addEventListener('resize', onResize);
  anchor.setAttribute('aria-expanded', 'true');
  current = api;
  return api;
}

/** closePopover closes whatever popover is open. */
export function closePopover() {
  current?.close({ restoreFocus: false });
}

/** popoverOpenFor says whether the open popover belongs to anchor (for toggling). */
export function popoverOpenFor(anchor) {
  return current?.anchor === anchor;
}

/**
 * openMenu shows a menu of items next to anchor. An item: {label, icon,
 * onSelect, danger, disabled} or 'separator' or {heading}. Returns the
 * popover.
 */
export function openMenu(anchor, items, { label = 'Menu', placement = 'below' } = {}) {
  const list = el('div', { class: 'popover-menu' });
  let pop = null;
  for (const item of items) {
    if (!item) continue;
    if (item === 'separator') {
      list.append(el('div', { class: 'menu-separator', role: 'separator' }));
      continue;
    }
    if (item.heading) {
      list.append(el('div', { class: 'popover-heading', role: 'presentation' }, item.heading));
      continue;
    }
    if (item.node) {
      list.append(item.node);
      continue;
    }
    const button = el('button', {
      type: 'button',
      role: 'menuitem',
      class: ['menu-item', item.danger && 'menu-item-danger'],
      tabindex: '-1',
      disabled: item.disabled,
    }, item.icon ? icon(item.icon, { size: 16 }) : null, el('span', null, item.label));
    button.addEventListener('click', () => {
      pop.close();
      item.onSelect();
    });
    list.append(button);
  }
  const items_ = () => [...list.querySelectorAll('[role="menuitem"]:not([disabled])')];
  list.addEventListener('keydown', (event) => {
    const all = items_();
    const at = all.indexOf(document.activeElement);
    const go = (i) => {
      event.preventDefault();
      all[(i + all.length) % all.length]?.focus();
    };
    if (event.key === 'ArrowDown') go(at + 1);
    else if (event.key === 'ArrowUp') go(at - 1);
    else if (event.key === 'Home') go(0);
    else if (event.key === 'End') go(all.length - 1);
    else if (event.key === 'Tab') pop.close({ restoreFocus: false });
  });
  pop = openPopover(anchor, list, { label, placement, role: 'menu', className: 'popover-menu-wrap' });
  items_()[0]?.focus();
  return pop;
}
