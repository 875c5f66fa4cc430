// user-picker.js is the people chooser of the "New message" and "Add
// people" dialogs: a filter box, the chosen people as removable chips, and a
// list of checkboxes.
import * as api from './api.js';
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { displayName, presenceAvatar } from './avatar.js';

/**
 * userPicker returns {node, selected(), focus()}. Users in exclude are not
 * offered; at most max can be chosen. onChange(ids) runs on every change.
 */
export function userPicker({ state, max = 7, exclude = new Set(), label = 'People', onChange = () => {} }) {
  const inputId = uid('picker');
  const listId = uid('picker-list');
  const chosen = new Map(); // id → user
  let everyone = [];

  const input = el('input', {
    id: inputId, class: 'input', type: 'search', placeholder: 'Type a name', autocomplete: 'off',
    spellcheck: 'false', 'aria-controls': listId,
  });
  const chips = el('div', { class: 'picker-chips', 'aria-live': 'polite' });
  const list = el('ul', { id: listId, class: 'picker-list', role: 'list', 'aria-label': label });
  const status = el('p', { class: 'picker-status' }, 'Loading people…');
  const limit = el('p', { class: 'field-hint' }, max > 1 ? `Choose up to ${max} people.` : 'Choose one person.');
  const node = el('div', { class: 'picker' },
    el('label', { for: inputId, class: 'field-label' }, label),
    chips, input, limit, status, list);

  function renderChips() {
    chips.replaceChildren(...[...chosen.values()].map((u) => el('span', { class: 'chip' },
      el('span', null, displayName(u)),
      el('button', {
        type: 'button',
        class: 'chip-remove',
        'aria-label': `Remove ${displayName(u)}`,
        onclick: () => toggle(u, false),
      }, icon('close', { size: 12 })),
    )));
  }

  function toggle(u, on) {
    if (on && !chosen.has(u.id)) {
      if (chosen.size >= max) {
        status.textContent = `You can choose at most ${max}.`;
        status.hidden = false;
        renderList();
        return;
      }
      chosen.set(u.id, u);
    } else if (!on) {
      chosen.delete(u.id);
    }
    renderChips();
    renderList();
    onChange([...chosen.keys()]);
  }

  function renderList() {
    const q = input.value.trim().toLowerCase();
    const shown = everyone.filter((u) => !q
      || u.username.toLowerCase().startsWith(q)
      || displayName(u).toLowerCase().split(/\s+/).some((w) => w.startsWith(q))
      || displayName(u).toLowerCase().startsWith(q));
    if (everyone.length) {
      status.hidden = shown.length > 0;
      if (!shown.length) status.textContent = 'Nobody matches that name.';
    }
    list.replaceChildren(...shown.slice(0, 100).map((u) => {
      const id = uid('pick');
      const box = el('input', { id, type: 'checkbox', class: 'picker-check', checked: chosen.has(u.id) });
      box.addEventListener('change', () => toggle(u, box.checked));
      return el('li', null, el('label', { for: id, class: 'picker-row' },
        box,
        presenceAvatar(u, state.presence(u.id), { size: 'sm' }),
        el('span', { class: 'picker-name' }, displayName(u)),
        displayName(u) !== u.username ? el('span', { class: 'picker-handle' }, `@${u.username}`) : null,
      ));
    }));
  }

  input.addEventListener('input', renderList);

  (async () => {
    let users;
    try {
      users = await api.users();
    } catch {
      // Fall back to the people of the current team and anyone already known.
      users = [...state.users.values()];
      if (state.teamId) {
        try {
          users = users.concat(await api.teamMembers(state.teamId));
        } catch { /* keep what we have */ }
      }
    }
    state.addUsers(users);
    const seen = new Set();
    everyone = users
      .filter((u) => u && !u.deactivated_at && u.id !== state.me.id && !exclude.has(u.id) && !seen.has(u.id) && seen.add(u.id))
      .sort((a, b) => displayName(a).localeCompare(displayName(b)));
    status.textContent = everyone.length ? '' : 'There is nobody else to add.';
    status.hidden = everyone.length > 0;
    renderList();
  })();

  return { node, selected: () => [...chosen.keys()], focus: () => input.focus() };
}
