// team-members-dialog.js lists the people of the current team. A team admin
// (or an admin) removes people here and adds new ones with the people
// picker; everyone else sees the list and may leave the team.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { displayName, presenceAvatar } from './avatar.js';
import { openDialog } from './dialog.js';
import { teamLabel } from './state.js';
import { userPicker } from './user-picker.js';

/** teamMembersDialog opens the dialog for team with its current members (users). */
export function teamMembersDialog({ chat, team, members }) {
  const { state } = chat;
  const admin = state.canManageTeam(team.id);
  let people = [...members];
  const list = el('ul', { class: 'member-list team-member-list', role: 'list', 'aria-label': 'Team members' });
  const status = el('p', { class: 'panel-status', role: 'status' });
  const picker = admin ? userPicker({ state, max: 20, exclude: new Set(people.map((u) => u.id)), label: 'Add people to the team' }) : null;
  let d = null;

  function render() {
    people.sort((a, b) => displayName(a).localeCompare(displayName(b)));
    status.textContent = `${people.length} ${people.length === 1 ? 'member' : 'members'}`;
    list.replaceChildren(...people.map((u) => {
      const me = u.id === state.me.id;
      const remove = admin || me ? el('button', {
        type: 'button',
        class: 'button button-secondary button-small member-remove',
        'aria-label': me ? 'Leave team' : `Remove ${displayName(u)} from the team`,
        onclick: (event) => removePerson(u, event.currentTarget),
      }, icon(me ? 'logout' : 'userMinus', { size: 14 }), me ? 'Leave' : 'Remove') : null;
      return el('li', { class: 'member' },
        presenceAvatar(u, state.presence(u.id)),
        el('span', { class: 'member-names' },
          el('span', { class: 'member-name' }, displayName(u), me ? el('span', { class: 'member-you' }, ' (you)') : null),
          el('span', { class: 'member-handle' }, `@${u.username}`)),
        remove);
    }));
  }

  async function removePerson(u, button) {
    button.disabled = true;
    d.setError('');
    try {
      await api.removeTeamMember(team.id, u.id);
    } catch (err) {
      button.disabled = false;
      d.setError(err.message);
      return;
    }
    people = people.filter((p) => p.id !== u.id);
    if (u.id === state.me.id) {
      d.close();
      chat.shell.showNotice(`You left ${teamLabel(team)}.`);
      return;
    }
    render();
  }

  d = openDialog({
    title: `People in ${teamLabel(team)}`,
    content: [status, list, picker?.node],
    submitLabel: admin ? 'Add to team' : undefined,
    onSubmit: admin ? async () => {
      const ids = picker.selected();
      if (!ids.length) throw new Error('Choose at least one person to add.');
      for (const id of ids) await api.addTeamMember(team.id, id);
      chat.shell.showNotice(`Added ${ids.length === 1 ? state.userName(ids[0]) : `${ids.length} people`} to ${teamLabel(team)}.`);
    } : undefined,
  });
  render();
  return d;
}
