// device-settings.js is the "Audio and video settings" dialog: microphone
// (with an input level meter, noise suppression and echo cancellation),
// camera, speaker (where the browser can choose one), the ringtone volume
// and the call keyboard shortcuts. Choices apply at once, also during a
// call, and are remembered in this browser.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { openDialog } from './dialog.js';
import * as media from './call-media.js';
import { ringVolume, setRingVolume, playTest } from './ringer.js';
import { MUTE_SHORTCUT } from './call-controls.js';

/** deviceSettingsDialog opens the dialog; calls is the call controller (for live changes). */
export function deviceSettingsDialog({ calls }) {
  const p = media.prefs();
  const select = (label, name) => {
    const input = el('select', { class: 'input select', name, 'aria-label': label });
    return { input, wrap: input };
  };
  const check = (label, name, checked, hint) => {
    const id = uid(`dev-${name}`);
    const input = el('input', { id, type: 'checkbox', name, checked });
    return { input, wrap: el('label', { class: 'check', for: id }, input, el('span', null, el('span', { class: 'check-label' }, label), hint ? el('span', { class: 'field-hint' }, hint) : null)) };
  };

  const mic = select('Microphone', 'mic');
  const level = media.levelBar('Microphone input level');
  const noise = check('Noise suppression', 'noise', p.noiseSuppression, 'Filters out steady background noise.');
  const echo = check('Echo cancellation', 'echo', p.echoCancellation, 'Keeps your speakers out of your microphone. Turn off only with headphones.');
  const camera = select('Camera', 'camera');
  const speaker = select('Speaker', 'speaker');
  const speakerNote = el('p', { class: 'field-hint' }, 'This browser plays calls on the system’s default output; change it in the system settings.');
  const volumeId = uid('ring-volume');
  const volume = el('input', { id: volumeId, type: 'range', class: 'range', min: 0, max: 100, step: 5, value: Math.round(ringVolume() * 100) });
  const test = el('button', { type: 'button', class: 'button button-secondary button-small' }, icon('volume', { size: 14 }), 'Test');
  const problem = el('p', { class: 'preflight-problem', role: 'alert', hidden: true });

  const section = (title, ...children) => el('fieldset', { class: 'settings-section' }, el('legend', { class: 'settings-legend' }, title), ...children);
  const content = [
    problem,
    section('Microphone', mic.wrap, el('div', { class: 'preflight-meter' }, icon('mic', { size: 14 }), level.node), noise.wrap, echo.wrap),
    section('Camera', camera.wrap),
    section('Speaker', media.canPickSpeaker() ? speaker.wrap : speakerNote),
    section('Ringtone',
      el('div', { class: 'range-row' },
        el('label', { for: volumeId, class: 'visually-hidden' }, 'Ringtone volume'),
        icon('volumeOff', { size: 16 }), volume, icon('volume', { size: 16 }), test)),
    section('Keyboard shortcuts',
      el('dl', { class: 'shortcut-list' },
        el('dt', null, el('kbd', null, MUTE_SHORTCUT)), el('dd', null, 'Mute or unmute yourself during a call'),
        el('dt', null, el('kbd', null, 'Esc')), el('dd', null, 'Close a menu or this dialog; dismiss a ringing call; from the full call view, back to the chat'))),
  ];

  let meter = null;
  let ownMic = null;
  openDialog({
    title: 'Audio and video settings',
    content,
    className: 'dialog-settings',
    onClose: () => {
      meter?.stop();
      ownMic?.stop();
    },
  });

  function fill(sel, list, chosen, fallback) {
    sel.replaceChildren(
      el('option', { value: '' }, 'System default'),
      ...list.filter((d) => d.deviceId !== 'default').map((d, i) => el('option', { value: d.deviceId, selected: d.deviceId === chosen }, d.label || `${fallback} ${i + 1}`)),
    );
  }

  async function load() {
    const s = calls.session;
    let track = s?.mic || null;
    if (!track && media.supported()) {
      try {
        ownMic = await media.openMic();
        track = ownMic;
      } catch (err) {
        problem.textContent = err.message;
        problem.hidden = false;
      }
    }
    if (track) meter = new media.LevelMeter(track, (v) => level.set(v));
    const d = await media.devices();
    const now = media.prefs();
    fill(mic.input, d.mics, now.micId, 'Microphone');
    fill(camera.input, d.cameras, now.cameraId, 'Camera');
    fill(speaker.input, d.speakers, now.speakerId, 'Speaker');
  }

  async function micChanged() {
    media.savePrefs({ micId: mic.input.value, noiseSuppression: noise.input.checked, echoCancellation: echo.input.checked });
    if (calls.session?.mic) {
      // The meter's copy of the microphone goes first, so the new
      // processing choices can take effect (see switchMic).
      meter?.stop();
      meter = null;
      await calls.switchMic();
      meter = calls.session?.mic ? new media.LevelMeter(calls.session.mic, (v) => level.set(v)) : null;
    } else if (ownMic) {
      meter?.stop();
      ownMic.stop();
      try {
        ownMic = await media.openMic();
        meter = new media.LevelMeter(ownMic, (v) => level.set(v));
      } catch (err) {
        problem.textContent = err.message;
        problem.hidden = false;
      }
    }
  }

  mic.input.addEventListener('change', micChanged);
  noise.input.addEventListener('change', micChanged);
  echo.input.addEventListener('change', micChanged);
  camera.input.addEventListener('change', () => {
    media.savePrefs({ cameraId: camera.input.value });
    calls.switchCamera();
  });
  speaker.input.addEventListener('change', () => calls.setSpeaker(speaker.input.value));
  volume.addEventListener('input', () => setRingVolume(Number(volume.value) / 100));
  test.addEventListener('click', () => playTest());

  load().catch(() => {});
}
