// call-tile.js is one participant in the call's grid: their video, or their
// avatar while no video flows, their name with a muted icon, a ring while
// they speak, their raised hand with its place in the queue, and a menu
// with their volume and, for the host, the host controls.
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';
import { openMenu, popoverOpenFor, closePopover } from './popover.js';

// A video that delivered no frame for this long shows the avatar instead
// (the camera was turned off, or the sender's network stalled).
const STALE_MS = 1500;

/** callTile returns {node, update(participant), setStream(stream|null), destroy()}. */
export function callTile({ calls, state, pid, self = false }) {
  const video = el('video', { class: 'tile-video', autoplay: true, playsinline: true, 'aria-hidden': 'true' });
  video.muted = true; // sound plays through the call's audio elements
  const face = el('div', { class: 'tile-face' });
  const name = el('span', { class: 'tile-name-text' });
  const mutedIcon = el('span', { class: 'tile-muted', title: 'Muted' }, icon('micOff', { size: 14 }), el('span', { class: 'visually-hidden' }, 'muted'));
  const hostBadge = el('span', { class: 'tile-badge tile-host', title: 'Host' }, icon('crown', { size: 12 }), el('span', { class: 'visually-hidden' }, 'host'));
  const hand = el('span', { class: 'tile-hand', hidden: true });
  const status = el('div', { class: 'tile-status', hidden: true });
  const menuButton = el('button', { type: 'button', class: 'tile-menu-button', 'aria-haspopup': 'menu' }, icon('moreVertical', { size: 18 }));
  const node = el('div', { class: ['call-tile', self && 'is-self'], dataset: { participantId: pid }, role: 'group' },
    face, video, status, hand,
    el('div', { class: 'tile-label' }, mutedIcon, hostBadge, name),
    self ? null : menuButton);

  let stream = null;
  let lastFrame = 0;
  let frameHandle = null;
  let participant = null;
  let faceUser = null;

  const onFrame = () => {
    lastFrame = performance.now();
    frameHandle = video.requestVideoFrameCallback?.(onFrame) ?? null;
  };
  const check = setInterval(() => {
    const live = Boolean(stream) && (self || performance.now() - lastFrame < STALE_MS);
    node.classList.toggle('has-video', live);
  }, 500);

  function setStream(next) {
    if (next === stream) return;
    stream = next;
    if (frameHandle != null) video.cancelVideoFrameCallback?.(frameHandle);
    frameHandle = null;
    video.srcObject = next;
    lastFrame = 0;
    if (next) {
      video.play().catch(() => {});
      if (video.requestVideoFrameCallback) frameHandle = video.requestVideoFrameCallback(onFrame);
      else lastFrame = performance.now() + 1e9; // no way to tell: trust the stream
    }
    node.classList.toggle('has-video', Boolean(next) && self);
  }

  function update(p) {
    participant = p;
    const s = calls.session;
    const user = state.user(p.userId);
    const kind = { whip: ' (stream)', whep: ' (viewer)' }[p.stream] || '';
    const label = self ? `${displayName(user)} (you)` : `${displayName(user)}${kind}`;
    name.textContent = label;
    node.setAttribute('aria-label', `${label}${p.muted ? ', muted' : ''}${p.speaking ? ', speaking' : ''}`);
    node.dataset.userId = p.userId;
    if (faceUser !== p.userId) {
      faceUser = p.userId;
      face.replaceChildren(el('span', { class: 'tile-avatar' }, avatar(user, { size: 'xl' })));
    }
    node.classList.toggle('is-speaking', Boolean(p.speaking) && !p.muted);
    node.classList.toggle('is-muted', Boolean(p.muted));
    mutedIcon.hidden = !p.muted;
    hostBadge.hidden = s?.hostId !== p.userId;
    const place = s ? s.hands.indexOf(p.id) : -1;
    hand.hidden = place < 0;
    hand.replaceChildren(icon('hand', { size: 14 }), el('span', null, String(place + 1)));
    hand.title = place < 0 ? '' : `Hand raised (${place + 1} in line)`;
    hand.setAttribute('aria-label', place < 0 ? '' : `Hand raised, ${place + 1} in line`);
    status.hidden = p.state !== 'reconnecting';
    status.textContent = p.state === 'reconnecting' ? 'Reconnecting…' : '';
    menuButton.setAttribute('aria-label', `Options for ${displayName(user)}`);
    menuButton.title = calls.isHost() ? 'Volume and host controls' : 'Volume';
  }

  menuButton.addEventListener('click', () => {
    if (popoverOpenFor(menuButton)) {
      closePopover();
      return;
    }
    if (!participant) return;
    const p = participant;
    const s = calls.session;
    const host = calls.isHost();
    const volume = el('input', {
      type: 'range', class: 'range', min: 0, max: 100, step: 5,
      value: Math.round(calls.volumeOf(p.userId) * 100), 'aria-label': `Volume of ${state.userName(p.userId)}`,
    });
    volume.addEventListener('input', () => calls.setVolume(p.userId, Number(volume.value) / 100));
    const volumeRow = el('div', { class: 'menu-volume' }, icon('volume', { size: 16 }), volume);
    const raised = s?.hands.includes(p.id);
    const sharing = s?.screenSharer === p.id;
    openMenu(menuButton, [
      { heading: state.userName(p.userId) },
      { node: volumeRow },
      host ? 'separator' : null,
      host && !p.muted ? { label: 'Mute', icon: 'micOff', onSelect: () => calls.host('mute', p.id) } : null,
      host && p.muted ? { label: 'Ask to unmute', icon: 'mic', onSelect: () => calls.host('ask_unmute', p.id) } : null,
      host && sharing ? { label: 'Stop screen share', icon: 'screenOff', onSelect: () => calls.host('stop_screen', p.id) } : null,
      host && raised ? { label: 'Lower hand', icon: 'hand', onSelect: () => calls.host('lower_hand', p.id) } : null,
      host && s?.hostId !== p.userId ? { label: 'Make host', icon: 'crown', onSelect: () => calls.host('make_host', p.id) } : null,
      host ? { label: 'Remove from call', icon: 'userMinus', danger: true, onSelect: () => calls.removeParticipant(p.id) } : null,
    ], { label: `Options for ${state.userName(p.userId)}` });
  });

  return {
    node,
    update,
    setStream,
    destroy() {
      clearInterval(check);
      if (frameHandle != null) video.cancelVideoFrameCallback?.(frameHandle);
      video.srcObject = null;
    },
  };
}
