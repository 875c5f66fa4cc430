// call-card.js draws the call message of a room: while the call runs, a
// card with the people in it, the running time and a Join button; once it
// has ended, the conference log — who started it and when, its name, who
// attended, how long it lasted. The card follows the call live: the server
// edits the post's props (post_edited) and the list redraws it. Also the
// "missed call" notice of a DM call nobody answered.
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';
import * as fmt from './format.js';

let calls = null;
let ticker = null;

/** bindCards connects the cards to the call controller (Join, "you are in it"). */
export function bindCards(controller) {
  calls = controller;
  const off = controller.on('change', refreshActions);
  const offRooms = controller.on('rooms', refreshActions);
  return () => {
    off();
    offRooms();
    if (calls === controller) calls = null;
  };
}

/** elapsed is the time since start as "4:07" or "1:02:09". */
export function elapsed(start, end = Date.now()) {
  const secs = Math.max(0, Math.floor((end - Date.parse(start)) / 1000));
  return clock(secs);
}

function clock(secs) {
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** duration is a call's length for people: "45 s", "3 min 12 s", "1 h 5 min". */
export function duration(secs) {
  const s = Math.max(0, Math.round(secs || 0));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h} h${m ? ` ${m} min` : ''}`;
  const rest = s % 60;
  return `${m} min${rest ? ` ${rest} s` : ''}`;
}

function tick() {
  const timers = document.querySelectorAll('.call-card-timer[data-since]');
  if (!timers.length) {
    clearInterval(ticker);
    ticker = null;
    return;
  }
  for (const t of timers) t.textContent = elapsed(t.dataset.since);
}

function startTicker() {
  if (!ticker) ticker = setInterval(tick, 1000);
}

function refreshActions() {
  for (const card of document.querySelectorAll('.call-card[data-live="true"]')) drawAction(card);
}

function drawAction(card) {
  const slot = card.querySelector('.call-card-action');
  if (!slot) return;
  const channelId = card.dataset.channelId;
  const archived = card.dataset.archived === 'true';
  const mode = !calls || archived ? 'none' : calls.inCall(channelId) ? 'in' : 'join';
  if (slot.dataset.mode === mode) return; // keeps focus on the button
  slot.dataset.mode = mode;
  if (mode === 'none') {
    slot.replaceChildren();
    return;
  }
  if (mode === 'in') {
    const open = el('button', { type: 'button', class: 'button button-secondary button-small call-card-open' }, icon('maximize', { size: 14 }), 'Show call');
    open.addEventListener('click', () => (calls.popout?.channelId === channelId ? calls.popout.window?.focus() : calls.expand()));
    slot.replaceChildren(el('span', { class: 'call-card-you' }, 'You are in this call'), open);
    return;
  }
  const join = el('button', { type: 'button', class: 'button button-call button-small call-card-join' }, icon('phone', { size: 14 }), 'Join');
  join.addEventListener('click', () => calls.start(channelId));
  slot.replaceChildren(join);
}

/** callCard returns the body of a call post. ctx: {state, canPost, archived}. */
export function callCard(post, ctx) {
  const { state } = ctx;
  const p = post.props || {};
  const ended = Boolean(p.ended_at);
  const starter = state.user(p.host_id || post.user_id);
  const name = p.title || '';

  if (!ended) {
    const people = (p.participants || []).map((id) => state.user(id));
    const timer = el('span', { class: 'call-card-timer', dataset: { since: p.started_at || post.created_at } }, elapsed(p.started_at || post.created_at));
    startTicker();
    const card = el('div', {
      class: 'call-card call-card-live',
      dataset: { live: 'true', channelId: post.channel_id, callId: p.call_id || '', archived: String(Boolean(ctx.archived)) },
    },
    el('span', { class: 'call-card-icon', 'aria-hidden': 'true' }, icon('phone', { size: 20 })),
    el('div', { class: 'call-card-main' },
      el('div', { class: 'call-card-title' }, name || 'Call in progress', el('span', { class: 'call-card-live-tag' }, 'Live')),
      el('div', { class: 'call-card-meta' },
        timer,
        el('span', { class: 'avatar-stack call-card-people', role: 'list', 'aria-label': `In the call: ${people.map(displayName).join(', ') || 'nobody yet'}` },
          people.slice(0, 6).map((u) => el('span', { role: 'listitem', title: displayName(u), dataset: { userId: u.id } }, avatar(u, { size: 'sm' })))),
        people.length > 6 ? el('span', { class: 'call-card-more' }, `+${people.length - 6}`) : null,
        el('span', { class: 'call-card-count' }, people.length ? fmt.plural(people.length, 'person', 'people') : 'Starting…'))),
    el('div', { class: 'call-card-action' }));
    drawAction(card);
    return card;
  }

  const attendees = (p.attendees || []).map((id) => state.user(id));
  return el('div', { class: 'call-card call-card-ended', dataset: { live: 'false', callId: p.call_id || '' } },
    el('span', { class: 'call-card-icon', 'aria-hidden': 'true' }, icon('phone', { size: 20 })),
    el('div', { class: 'call-card-main' },
      el('div', { class: 'call-card-title' }, name ? `Call ended: ${name}` : 'Call ended'),
      el('dl', { class: 'call-log' },
        el('div', null, el('dt', null, 'Started by'), el('dd', null, displayName(starter))),
        el('div', null, el('dt', null, 'Started'), el('dd', null,
          el('time', { datetime: p.started_at, title: fmt.fullTime(p.started_at) }, `${fmt.shortWhen(p.started_at)}${fmt.dayKey(p.started_at) === fmt.dayKey(new Date()) ? '' : `, ${fmt.time(p.started_at)}`}`))),
        el('div', null, el('dt', null, 'Lasted'), el('dd', { class: 'call-log-duration' }, duration(p.duration_s))),
        el('div', { class: 'call-log-attendees' }, el('dt', null, 'Attendees'), el('dd', null,
          el('span', { class: 'avatar-stack' }, attendees.slice(0, 8).map((u) => avatar(u, { size: 'sm' }))),
          el('span', { class: 'call-log-names' }, fmt.names(attendees.map(displayName), { max: 6 }) || 'Nobody')))),
    ));
}

/** missedCall returns the body of a call_missed post (a DM call nobody answered). */
export function missedCall(post, ctx) {
  const { state } = ctx;
  const p = post.props || {};
  const callerId = p.caller_id || post.user_id;
  const mine = callerId === state.me.id;
  const text = mine
    ? `${state.userName(p.callee_id)} did not answer your call`
    : `Missed call from ${state.userName(callerId)}`;
  const back = !mine && calls && ctx.canPost !== false
    ? el('button', { type: 'button', class: 'button button-secondary button-small', onclick: () => calls.start(post.channel_id) }, icon('phone', { size: 14 }), 'Call back')
    : null;
  return el('div', { class: ['call-card', 'call-card-missed', !mine && 'is-for-me'] },
    el('span', { class: 'call-card-icon', 'aria-hidden': 'true' }, icon('phoneMissed', { size: 20 })),
    el('div', { class: 'call-card-main' },
      el('div', { class: 'call-card-title' }, text),
      el('div', { class: 'call-card-meta' }, fmt.time(post.created_at))),
    back ? el('div', { class: 'call-card-action' }, back) : null);
}
