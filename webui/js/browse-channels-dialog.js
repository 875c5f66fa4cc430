// browse-channels-dialog.js lists the team's public channels with a Join
// (or Open) button each.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { openDialog } from './dialog.js';

/** browseChannelsDialog opens the list; onOpen(channel) runs after a join or an open. */
export function browseChannelsDialog({ state, teamId, onJoin, onOpen }) {
  const filter = el('input', { class: 'input', type: 'search', placeholder: 'Filter channels', 'aria-label': 'Filter channels', autocomplete: 'off' });
  const status = el('p', { class: 'picker-status', role: 'status' }, 'Loading channels…');
  const list = el('ul', { class: 'browse-list', role: 'list' });
  let all = [];

  const d = openDialog({
    title: 'Browse channels',
    content: [filter, status, list],
    className: 'dialog-wide',
  });

  function render() {
    const q = filter.value.trim().toLowerCase();
    const shown = all.filter((c) => !q || (c.display_name || '').toLowerCase().includes(q) || c.name.toLowerCase().includes(q));
    status.textContent = all.length === 0 ? 'There are no public channels in this team yet.' : shown.length === 0 ? 'No channel matches.' : '';
    status.hidden = !status.textContent;
    list.replaceChildren(...shown.map((c) => {
      const joined = state.channels.has(c.id);
      const action = el('button', { type: 'button', class: ['button', 'button-small', joined ? 'button-secondary' : 'button-primary'] }, joined ? 'Open' : 'Join');
      action.setAttribute('aria-label', `${joined ? 'Open' : 'Join'} ${c.display_name || c.name}`);
      action.addEventListener('click', async () => {
        action.disabled = true;
        try {
          if (joined) onOpen(c);
          else await onJoin(c);
          d.close();
        } catch (err) {
          action.disabled = false;
          d.setError(err.message);
        }
      });
      return el('li', { class: 'browse-item' },
        el('span', { class: 'browse-icon', 'aria-hidden': 'true' }, icon(c.archived_at ? 'archive' : 'hash', { size: 16 })),
        el('span', { class: 'browse-text' },
          el('span', { class: 'browse-name' }, c.display_name || c.name),
          el('span', { class: 'browse-purpose' }, c.purpose || c.header || (joined ? 'You are a member' : `~${c.name}`))),
        action);
    }));
  }

  filter.addEventListener('input', render);
  api.teamChannels(teamId).then((channels) => {
    all = channels.sort((a, b) => (a.display_name || a.name).localeCompare(b.display_name || b.name));
    render();
  }, (err) => {
    status.textContent = `Could not load channels: ${err.message}`;
  });
  filter.focus();
  return d;
}
