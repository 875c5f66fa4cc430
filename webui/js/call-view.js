// call-view.js is the call in full: a grid of tiles, or the presenter
// layout while someone shares a screen (the screen large, the people in a
// strip beside it), the raised hands in order, reactions floating over the
// tiles, the call's name and running time, and the control bar. It covers
// the room pane (the sidebar and the chat panel stay usable) or, in a
// pop-out window, the whole window.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { avatar } from './avatar.js';
import { callTile } from './call-tile.js';
import { callControls } from './call-controls.js';
import { elapsed } from './call-card.js';

const REACTION_MS = 4200;
// A reaction someone joining finds in the call (the server keeps them for
// 8 s) floats at least this long, so it is seen however long joining took.
const LATE_REACTION_MS = 2500;

/** callView returns {node, focus(), destroy()}; it redraws on the controller's changes. */
export function callView({ calls, state, popout = false }) {
  const titleId = uid('call-title');
  const title = el('h2', { id: titleId, class: 'call-title', tabindex: '-1' });
  const room = el('span', { class: 'call-room' });
  const timer = el('span', { class: 'call-timer', role: 'timer' });
  const count = el('span', { class: 'call-count' });
  const rec = el('span', { class: 'call-rec', hidden: true, role: 'status' }, el('span', { class: 'call-rec-dot', 'aria-hidden': 'true' }), 'REC');
  const transport = el('span', { class: 'call-transport', hidden: true, title: 'The UDP media port is not reachable: media goes over TCP through the web port.' }, 'TCP fallback');
  const minimize = el('button', { type: 'button', class: 'call-top-button', 'aria-label': 'Minimize the call', title: 'Back to the chat (the call goes on)' }, icon('minimize', { size: 18 }));
  const popButton = el('button', { type: 'button', class: 'call-top-button', 'aria-label': 'Open in a new window', title: 'Open the call in its own window' }, icon('popout', { size: 18 }));
  minimize.hidden = popout;
  popButton.hidden = popout;
  minimize.addEventListener('click', () => calls.collapse());
  popButton.addEventListener('click', () => calls.popOut());

  const top = el('header', { class: 'call-top' },
    el('span', { class: 'call-live-dot', 'aria-hidden': 'true' }),
    el('div', { class: 'call-heading' }, title, el('p', { class: 'call-meta' }, room, timer, count)),
    rec, transport, popButton, minimize);

  const status = el('div', { class: 'call-status', role: 'status', hidden: true });
  const sound = el('div', { class: 'call-status call-sound', role: 'alert', hidden: true },
    icon('volumeOff', { size: 16 }), el('span', null, 'The browser is holding back the call’s sound.'),
    el('button', { type: 'button', class: 'button button-primary button-small', onclick: () => calls.unblockSound() }, 'Turn on sound'));
  const presenterVideo = el('video', { class: 'presenter-video', autoplay: true, playsinline: true, 'aria-hidden': 'true' });
  presenterVideo.muted = true;
  const presenterLabel = el('div', { class: 'presenter-label' });
  const presenterSelf = el('div', { class: 'presenter-self', hidden: true },
    icon('screen', { size: 40 }),
    el('p', null, 'You are sharing your screen with everyone in the call.'),
    el('button', { type: 'button', class: 'button button-danger', onclick: () => calls.stopScreen() }, icon('screenOff', { size: 16 }), 'Stop sharing'));
  const presenter = el('div', { class: 'call-presenter', hidden: true }, presenterVideo, presenterSelf, presenterLabel);
  const tiles = el('div', { class: 'call-tiles', role: 'list', 'aria-label': 'Participants' });
  const reactions = el('div', { class: 'call-reactions', 'aria-live': 'polite' });
  const handsList = el('ol', { class: 'call-hands-list' });
  const hands = el('aside', { class: 'call-hands', hidden: true, 'aria-label': 'Raised hands' },
    el('h3', { class: 'call-hands-title' }, icon('hand', { size: 14 }), 'Raised hands'), handsList);
  const stage = el('div', { class: 'call-stage', dataset: { layout: 'grid' } }, presenter, tiles, hands, reactions);
  const controls = callControls({ calls });

  const node = el('section', { class: ['call-view', popout && 'call-view-popout'], 'aria-labelledby': titleId, hidden: true },
    top, status, sound, stage, controls.node);
  node.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.defaultPrevented && !popout && !event.target.closest('dialog, .popover')) {
      calls.collapse();
    }
  });

  const tileMap = new Map(); // participant id → tile

  function draw() {
    const s = calls.session;
    const visible = Boolean(s) && (popout || calls.expanded);
    node.hidden = !visible;
    if (!s) {
      for (const t of tileMap.values()) t.destroy();
      tileMap.clear();
      tiles.replaceChildren();
      reactions.replaceChildren();
      presenterVideo.srcObject = null;
      return;
    }
    const c = calls.ui.channel(s.channelId);
    const roomName = calls.ui.roomName(s.channelId);
    title.textContent = s.title || (c?.type === 'dm' ? `Call with ${roomName}` : `Call in ${roomName}`);
    room.textContent = s.title ? roomName : (c?.type === 'dm' ? 'Direct message' : '');
    room.hidden = !room.textContent;
    const n = s.participants.size;
    count.textContent = `${n} ${n === 1 ? 'person' : 'people'}`;
    transport.hidden = s.transport !== 'tcp';
    rec.hidden = !s.recording;
    rec.title = s.recording ? `Recording, started by ${state.userName(s.recording.by)}` : '';
    rec.setAttribute('aria-label', s.recording ? 'This call is being recorded' : '');

    // Status: joining, connecting, ringing.
    let text = '';
    if (s.phase === 'joining') text = 'Joining the call…';
    else if (s.ring) text = `Calling ${state.userName(s.ring.callee_id)}…`;
    else if (s.phase === 'connecting') text = 'Connecting audio and video…';
    else if (s.phase === 'reconnecting') text = 'Connection lost. Reconnecting…';
    status.hidden = !text;
    sound.hidden = !s.soundBlocked;
    status.textContent = text;
    node.dataset.phase = s.phase;

    // Tiles, me first, then in the order people joined.
    const people = [...s.participants.values()].sort((a, b) => {
      if (a.id === s.myPid) return -1;
      if (b.id === s.myPid) return 1;
      return Date.parse(a.joinedAt) - Date.parse(b.joinedAt);
    });
    const seen = new Set();
    for (const p of people) {
      seen.add(p.id);
      let tile = tileMap.get(p.id);
      if (!tile) {
        tile = callTile({ calls, state, pid: p.id, self: p.id === s.myPid });
        tile.node.setAttribute('role', 'listitem');
        tileMap.set(p.id, tile);
      }
      tile.update(p);
      if (p.id === s.myPid) tile.setStream(s.camera ? localStream(s) : null);
      else tile.setStream(calls.streamsOf(p.id).camera);
    }
    for (const [id, tile] of tileMap) {
      if (!seen.has(id)) {
        tile.destroy();
        tile.node.remove();
        tileMap.delete(id);
      }
    }
    // Keep nodes in order without re-appending those already in place
    // (re-appending a playing video restarts it).
    let cursor = tiles.firstChild;
    for (const p of people) {
      const n2 = tileMap.get(p.id).node;
      if (n2 === cursor) cursor = cursor.nextSibling;
      else tiles.insertBefore(n2, cursor);
    }
    const cols = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : 4;
    tiles.style.setProperty('--cols', String(cols));
    tiles.style.setProperty('--rows', String(Math.ceil(n / cols) || 1));

    // Presenter layout.
    const sharer = s.screenSharer;
    const presenting = Boolean(sharer) && s.participants.has(sharer);
    stage.dataset.layout = presenting ? 'presenter' : 'grid';
    presenter.hidden = !presenting;
    if (presenting) {
      const mine = sharer === s.myPid;
      presenterSelf.hidden = !mine;
      presenterVideo.hidden = mine;
      const screen = mine ? null : calls.streamsOf(sharer).screen;
      if (presenterVideo.srcObject !== screen) {
        presenterVideo.srcObject = screen;
        if (screen) presenterVideo.play().catch(() => {});
      }
      presenterLabel.replaceChildren(icon('screen', { size: 14 }), mine ? 'You are presenting' : `${calls.nameOf(sharer)} is presenting`);
    } else if (presenterVideo.srcObject) {
      presenterVideo.srcObject = null;
    }

    // Raised hands, in the order they went up.
    const up = s.hands.filter((id) => s.participants.has(id));
    hands.hidden = up.length === 0;
    const handsKey = JSON.stringify([up, calls.isHost(), up.map((id) => s.participants.get(id).userId), state.users.size]);
    if (handsKey !== handsShown) {
      handsShown = handsKey;
      drawHands(s, up);
    }

    drawTimer();
    controls.update();
  }

  let handsShown = '';
  function drawHands(s, up) {
    handsList.replaceChildren(...up.map((id) => {
      const p = s.participants.get(id);
      const lower = calls.isHost() || id === s.myPid
        ? el('button', {
          type: 'button', class: 'link-button hands-lower',
          onclick: () => (id === s.myPid ? calls.toggleHand() : calls.host('lower_hand', id)),
        }, 'Lower')
        : null;
      return el('li', { dataset: { participantId: id } }, avatar(state.user(p.userId), { size: 'sm' }),
        el('span', { class: 'hands-name' }, id === s.myPid ? 'You' : state.userName(p.userId)), lower);
    }));
  }

  function drawTimer() {
    const s = calls.session;
    timer.textContent = s?.startedAt ? elapsed(s.startedAt) : '';
  }

  let local = null;
  function localStream(s) {
    if (!local || local.getVideoTracks()[0] !== s.camera) local = new MediaStream([s.camera]);
    return local;
  }

  function floatReaction(r) {
    const s = calls.session;
    if (!s) return;
    const left = r.age > 0 ? Math.max(LATE_REACTION_MS, REACTION_MS - r.age) : REACTION_MS;
    const who = r.participant_id === s.myPid ? 'You' : state.userName(r.user_id);
    const item = el('div', { class: 'call-reaction', role: 'img', 'aria-label': `${who} reacted ${r.emoji}` },
      el('span', { class: 'call-reaction-emoji' }, r.emoji),
      el('span', { class: 'call-reaction-name' }, who));
    item.style.setProperty('--x', `${8 + Math.round(Math.random() * 60)}%`);
    item.style.setProperty('--dur', `${left}ms`);
    item.addEventListener('animationend', () => item.remove());
    reactions.append(item);
    while (reactions.children.length > 30) reactions.firstChild.remove();
  }

  const offs = [
    calls.on('change', draw),
    calls.on('reaction', floatReaction),
    state.on('users', draw),
  ];
  const tick = setInterval(drawTimer, 1000);
  draw();

  return {
    node,
    focus: () => title.focus({ preventScroll: true }),
    destroy() {
      offs.forEach((off) => off());
      clearInterval(tick);
      for (const t of tileMap.values()) t.destroy();
    },
  };
}
