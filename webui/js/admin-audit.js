// admin-audit.js is the console's audit log: every admin change (settings,
// users, invites, calls), who made it, when, and what it was before and after.
import * as admin from './admin-api.js';
import { el } from './dom.js';
import {
  pageHead, dataTable, errorBox, loading,
} from './admin-widgets.js';
import { dateTime } from './admin-format.js';

const LIMIT = 50;

/** ACTIONS name the audit actions for people. */
const ACTIONS = {
  setting_changed: 'Changed a setting',
  'settings.change': 'Changed a setting',
  'user.create': 'Created a user',
  'user.role': 'Changed a role',
  'user.display_name': 'Renamed a user',
  'user.signup': 'Signed up',
  'user.deactivate': 'Deactivated a user',
  'user.activate': 'Reactivated a user',
  'user.reset_link': 'Made a password reset link',
  'user.password_reset': 'Reset a password',
  'invite.create': 'Made an invite link',
  'invite.revoke': 'Revoked an invite',
  'invite.accept': 'Signed up with an invite',
  'call.end': 'Ended a call',
  'recording.stop': 'Stopped a recording',
};

/** auditPage returns {node, load(), refresh(), destroy()}. */
export function auditPage(ctx) {
  const refresh = el('button', { type: 'button', class: 'button button-secondary' }, 'Refresh');
  const head = pageHead({
    title: 'Audit log',
    text: 'Every change made by an admin, newest first. Entries cannot be edited or removed here.',
    actions: [refresh],
  });
  const list = el('div', { class: 'admin-audit' }, loading());
  const more = el('button', { type: 'button', class: 'button button-secondary admin-more', hidden: true }, 'Show older entries');
  const node = el('div', { class: 'admin-page-inner' }, head.node, el('section', { class: 'admin-section', 'aria-labelledby': head.id }, list, more));

  let entries = [];

  async function load({ append = false } = {}) {
    more.disabled = true;
    try {
      const res = await admin.audit({ limit: LIMIT, offset: append ? entries.length : 0 });
      // Entries written since the first page shift the offsets: drop repeats.
      const seen = new Set(append ? entries.map((e) => e.id) : []);
      const fresh = res.entries.filter((e) => !seen.has(e.id));
      entries = append ? [...entries, ...fresh] : fresh;
      await ctx.ensureUsers?.(entries.flatMap((e) => [e.actor_id, e.action.startsWith('user.') ? e.target : null]).filter(Boolean));
      draw();
      more.hidden = res.total != null ? entries.length >= res.total : res.entries.length < LIMIT || fresh.length === 0;
    } catch (err) {
      if (err.status === 403) {
        ctx.onForbidden();
        return;
      }
      list.replaceChildren(errorBox(`Could not load the audit log: ${err.message}`, { onRetry: () => load() }));
    } finally {
      more.disabled = false;
    }
  }

  function draw() {
    list.replaceChildren(dataTable({
      caption: 'Audit log',
      columns: [{ label: 'When', className: 'col-date' }, { label: 'Who' }, { label: 'What' }, { label: 'Target' }, { label: 'Change', className: 'col-change' }],
      rows: entries.map((e) => ({
        attrs: { dataset: { action: e.action, target: e.target || '' } },
        cells: [
          dateTime(e.at),
          e.actor_username || (e.actor_id ? ctx.state.userName(e.actor_id) : 'The server'),
          ACTIONS[e.action] || e.action,
          el('code', { class: 'admin-target' }, targetLabel(e)),
          change(e),
        ],
      })),
      empty: 'Nothing has been changed yet.',
    }));
  }

  refresh.addEventListener('click', () => load());
  more.addEventListener('click', () => load({ append: true }));

  /** targetLabel names what an entry is about: a setting, @user, a room. */
  function targetLabel(e) {
    if (!e.target) return '';
    if (e.action.startsWith('user.')) return `@${ctx.state.user(e.target).username}`;
    if (e.action.startsWith('call.') || e.action.startsWith('recording.')) {
      const c = ctx.state.channel(e.target);
      return c ? ctx.state.roomName(c) : e.target;
    }
    return e.target;
  }

  return { node, load: () => load(), refresh: () => load(), destroy() {} };
}

/** change shows an entry's old → new values (from old/new, or its detail). */
function change(e) {
  let { old, new: next } = e;
  let detail = e.detail;
  if (typeof detail === 'string') {
    try {
      detail = JSON.parse(detail);
    } catch {
      // shown as it is below
    }
  }
  if (old === undefined && next === undefined && detail && typeof detail === 'object') {
    ({ old, new: next } = detail);
    if (old === undefined && next === undefined) return el('span', { class: 'admin-muted' }, compact(detail));
  }
  if (old === undefined && next === undefined) return detail ? compact(detail) : '';
  return el('span', { class: 'admin-change' },
    el('span', { class: 'admin-old' }, compact(old)),
    el('span', { 'aria-hidden': 'true' }, ' → '),
    el('span', { class: 'visually-hidden' }, ' changed to '),
    el('span', { class: 'admin-new' }, compact(next)));
}

function compact(v) {
  if (v === undefined || v === null || v === '') return '–';
  if (typeof v === 'string') {
    try {
      const parsed = JSON.parse(v);
      return typeof parsed === 'string' ? parsed : JSON.stringify(parsed);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v);
}
