// team-rail.js is the narrow column of team tiles at the sidebar's left
// edge, like the team switchers of the chat apps people know, with a dot on
// teams that have unread rooms and a "+" to create a team.
import { el } from './dom.js';
import { icon } from './icons.js';
import { teamLabel } from './state.js';

/** teamRail returns {node, render()}; onSelect(teamId), onCreate(), onMembers() run on clicks. */
export function teamRail({ state, onSelect, onCreate, onMembers }) {
  const list = el('ul', { class: 'team-list', role: 'list' });
  const create = el('button', {
    type: 'button',
    class: 'team-tile team-create',
    'aria-label': 'Create a team',
    title: 'Create a team',
    onclick: onCreate,
  }, icon('plus', { size: 20 }));
  const members = el('button', {
    type: 'button',
    class: 'team-tile team-create team-members',
    'aria-label': 'Team members',
    title: 'People in this team',
    onclick: onMembers,
  }, icon('users', { size: 18 }));
  const node = el('div', { class: 'team-rail', role: 'group', 'aria-label': 'Teams' }, list, members, create);

  function render() {
    members.hidden = !state.teamId;
    list.replaceChildren(...state.teams.map((t) => {
      const current = t.id === state.teamId;
      const { mentions, unread } = current ? { mentions: 0, unread: 0 } : state.totals(t.id);
      const label = teamLabel(t);
      return el('li', null, el('button', {
        type: 'button',
        class: ['team-tile', current && 'is-current'],
        'aria-current': current ? 'true' : null,
        'aria-label': `${label}${mentions ? `, ${mentions} mentions` : unread ? ', unread messages' : ''}`,
        title: label,
        dataset: { teamId: t.id },
        onclick: () => onSelect(t.id),
      },
      el('span', { class: 'team-initials', 'aria-hidden': 'true' }, initials(label)),
      mentions ? el('span', { class: 'badge team-badge', 'aria-hidden': 'true' }, mentions > 99 ? '99+' : String(mentions))
        : unread ? el('span', { class: 'team-dot', 'aria-hidden': 'true' }) : null));
    }));
  }

  render();
  return { node, render };
}

function initials(name) {
  const words = name.trim().split(/\s+/u).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[1]] : [name];
  return letters.map((w) => [...w][0] || '').join('').toUpperCase().slice(0, 2) || '?';
}
