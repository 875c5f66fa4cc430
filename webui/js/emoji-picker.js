// emoji-picker.js is the popover grid of emoji used to react to a post and
// to insert an emoji into the composer. Arrow keys move through the grid,
// typing filters it, Escape closes it and gives focus back.
import { el } from './dom.js';
import { findEmoji } from './emoji.js';

const COLUMNS = 8;
let openPicker = null;

/** openEmojiPicker shows the picker next to anchor; onPick(emoji) runs on a choice. */
export function openEmojiPicker(anchor, onPick) {
  openPicker?.close();

  const search = el('input', {
    class: 'input emoji-search', type: 'search', placeholder: 'Search emoji', 'aria-label': 'Search emoji',
    autocomplete: 'off', spellcheck: 'false',
  });
  const grid = el('div', { class: 'emoji-grid', role: 'group', 'aria-label': 'Emoji' });
  const empty = el('p', { class: 'emoji-empty', hidden: true }, 'No emoji found');
  const node = el('div', { class: 'emoji-picker', role: 'dialog', 'aria-label': 'Choose an emoji' }, search, grid, empty);

  const buttons = () => [...grid.querySelectorAll('button')];
  function render() {
    const found = findEmoji(search.value);
    grid.replaceChildren(...found.map(([ch, name]) => el('button', {
      type: 'button',
      class: 'emoji-button',
      title: name,
      'aria-label': name,
      dataset: { emoji: ch },
      tabindex: '-1',
    }, ch)));
    const first = grid.firstElementChild;
    if (first) first.tabIndex = 0;
    empty.hidden = found.length > 0;
  }

  function close({ restoreFocus = true } = {}) {
    if (openPicker !== api) return;
    openPicker = null;
    node.remove();
    document.removeEventListener('pointerdown', onOutside, true);
    window.removeEventListener('resize', onResize);
    if (restoreFocus && anchor.isConnected) anchor.focus({ preventScroll: true });
  }
  const onOutside = (event) => {
    if (!node.contains(event.target) && !anchor.contains(event.target)) close({ restoreFocus: false });
  };
  const onResize = () => close({ restoreFocus: false });

  grid.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-emoji]');
    if (!button) return;
    close();
    onPick(button.dataset.emoji);
  });
  grid.addEventListener('keydown', (event) => {
    const list = buttons();
    const at = list.indexOf(document.activeElement);
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (event.key in moves) {
      event.preventDefault();
      const next = list[Math.min(list.length - 1, Math.max(0, at + moves[event.key]))];
      if (event.key === 'ArrowUp' && at < COLUMNS) {
        search.focus();
        return;
      }
      for (const b of list) b.tabIndex = -1;
      if (next) {
        next.tabIndex = 0;
        next.focus();
      }
    }
  });
  search.addEventListener('input', render);
  search.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || (event.key === 'Enter' && !event.isComposing)) {
      event.preventDefault();
      const first = buttons()[0];
      if (event.key === 'Enter' && first) {
        close();
        onPick(first.dataset.emoji);
      } else {
        first?.focus();
      }
    }
  });
  node.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close();
    } else if (event.key === 'Tab') {
      // Two stops (search, grid): keep focus inside while open.
      const grid0 = grid.querySelector('button[tabindex="0"]');
      if (!event.shiftKey && document.activeElement === search && grid0) return;
      if (event.shiftKey && document.activeElement !== search) return;
      event.preventDefault();
      (document.activeElement === search ? grid0 : search)?.focus();
    }
  });

  render();
  document.body.append(node);
  place(node, anchor);
  document.addEventListener('pointerdown', onOutside, true);
  window.addEventListener('resize', onResize);
  const api = { close };
  openPicker = api;
  // A phone keyboard would cover the grid, so only desktop focuses the search box.
  if (window.matchMedia('(pointer: fine)').matches) search.focus();
  else grid.querySelector('button')?.focus();
  return api;
}

/** place puts the popover above the anchor when it fits, else below, inside the viewport. */
function place(node, anchor) {
  const r = anchor.getBoundingClientRect();
  const w = node.offsetWidth;
  const h = node.offsetHeight;
  const margin = 8;
  let top = r.top - h - 6;
  if (top < margin) top = Math.min(window.innerHeight - h - margin, r.bottom + 6);
  let left = r.right - w;
  if (left < margin) left = margin;
  if (left + w > window.innerWidth - margin) left = window.innerWidth - w - margin;
  node.style.top = `${Math.max(margin, top)}px`;
  node.style.left = `${Math.max(margin, left)}px`;
}
