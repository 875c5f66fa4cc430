// preflight-dialog.js is the step before joining a call: choose whether the
// microphone and camera are on (with a camera preview and a microphone
// level meter), name the call when starting one, and see who is already in.
// Both start as the workspace's default_mic_on / default_camera_on say.
// Media problems (permission denied, no device) are said here, and joining
// without a microphone stays possible: as a listener.
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';
import { openDialog, textField } from './dialog.js';
import * as media from './call-media.js';
import * as fmt from './format.js';

/**
 * preflightDialog resolves to {mic, camera, muted, title} (tracks or null)
 * when the user joins, or null when they cancel.
 */
export function preflightDialog({ state, roomName, direct, running, participants = [], title = '', askTitle, onSettings }) {
  return new Promise((resolve) => {
    let mic = null;
    let camera = null;
    const defaults = state.callDefaults();
    let micOn = defaults.mic;
    let meter = null;
    let joined = false;

    const preview = el('video', { class: 'preflight-video', autoplay: true, muted: true, playsinline: true, 'aria-hidden': 'true' });
    preview.muted = true;
    const me = state.user(state.me.id);
    const placeholder = el('div', { class: 'preflight-placeholder' }, avatar(me, { size: 'xl' }), el('span', null, 'Camera is off'));
    const level = media.levelBar('Microphone level');
    const micButton = el('button', { type: 'button', class: 'round-button', 'aria-pressed': 'true' });
    const camButton = el('button', { type: 'button', class: 'round-button', 'aria-pressed': 'false' });
    const stage = el('div', { class: 'preflight-stage' }, preview, placeholder,
      el('div', { class: 'preflight-toggles' }, micButton, camButton));
    const problem = el('p', { class: 'preflight-problem', role: 'alert', hidden: true });
    const field = askTitle ? textField({ label: 'Call name (optional)', name: 'title', value: title, placeholder: 'e.g. Daily stand-up', maxlength: 128 }) : null;
    const who = running && participants.length
      ? el('div', { class: 'preflight-who' },
        el('span', { class: 'avatar-stack' }, participants.slice(0, 5).map((p) => avatar(state.user(p.user_id), { size: 'sm' }))),
        el('span', null, `${fmt.names(participants.map((p) => displayName(state.user(p.user_id))))} ${participants.length === 1 ? 'is' : 'are'} in the call`))
      : null;
    const settings = el('button', { type: 'button', class: 'link-button preflight-settings' }, icon('settings', { size: 14 }), 'Audio and video settings');

    const content = [
      stage,
      el('div', { class: 'preflight-meter' }, icon('mic', { size: 14 }), level.node),
      problem,
      who,
      field?.wrap,
      settings,
    ];

    const dialog = openDialog({
      title: running ? `Join the call in ${roomName}` : direct ? `Call ${roomName}` : `Start a call in ${roomName}`,
      description: direct && !running ? `${roomName} will be rung on all their devices.` : null,
      content,
      submitLabel: running ? 'Join call' : direct ? 'Call' : 'Start call',
      className: 'dialog-preflight',
      onSubmit: () => {
        joined = true;
      },
      onClose: () => {
        meter?.stop();
        if (!joined) {
          mic?.stop();
          camera?.stop();
          resolve(null);
          return;
        }
        if (camera) camera.enabled = true;
        resolve({ mic, camera, muted: !micOn || !mic, title: field ? field.input.value.trim() : title });
      },
    });
    const submit = dialog.form.querySelector('button[type="submit"]');
    submit.classList.add('button-call');
    settings.addEventListener('click', () => onSettings?.());

    function say(text) {
      problem.textContent = text;
      problem.hidden = !text;
    }

    function draw() {
      const on = micOn && mic;
      micButton.replaceChildren(icon(on ? 'mic' : 'micOff', { size: 20 }));
      micButton.setAttribute('aria-pressed', String(Boolean(on)));
      micButton.setAttribute('aria-label', on ? 'Microphone on' : 'Microphone off');
      micButton.title = on ? 'Turn the microphone off' : 'Turn the microphone on';
      micButton.classList.toggle('is-off', !on);
      camButton.replaceChildren(icon(camera ? 'video' : 'videoOff', { size: 20 }));
      camButton.setAttribute('aria-pressed', String(Boolean(camera)));
      camButton.setAttribute('aria-label', camera ? 'Camera on' : 'Camera off');
      camButton.title = camera ? 'Turn the camera off' : 'Turn the camera on';
      camButton.classList.toggle('is-off', !camera);
      placeholder.hidden = Boolean(camera);
      preview.hidden = !camera;
      if (!on) level.set(0);
    }

    async function openMic() {
      try {
        mic = await media.openMic();
        if (!dialog.node.isConnected) {
          mic.stop();
          return;
        }
        meter = new media.LevelMeter(mic, (v) => { if (micOn) level.set(v); });
        say('');
      } catch (err) {
        micOn = false;
        say(`${err.message} You can still join and listen.`);
      }
      draw();
    }

    micButton.addEventListener('click', async () => {
      if (!mic) {
        micOn = true;
        await openMic();
        return;
      }
      micOn = !micOn;
      draw();
    });

    async function openCamera() {
      camButton.disabled = true;
      try {
        camera = await media.openCamera();
        if (!dialog.node.isConnected) {
          camera.stop();
          camera = null;
          return;
        }
        preview.srcObject = new MediaStream([camera]);
        say('');
      } catch (err) {
        say(err.message);
      } finally {
        camButton.disabled = false;
      }
      draw();
    }

    camButton.addEventListener('click', async () => {
      if (camera) {
        camera.stop();
        camera = null;
        preview.srcObject = null;
        draw();
        return;
      }
      await openCamera();
    });

    draw();
    if (media.supported()) {
      // Joining before the microphone (and the camera, when it starts on)
      // answered would join without it. The microphone opens even when it
      // starts off, so turning it on in the call needs no new prompt.
      submit.disabled = true;
      Promise.all([openMic(), defaults.camera ? openCamera() : null]).finally(() => {
        submit.disabled = false;
        if (!field && dialog.node.isConnected) submit.focus();
      });
    }
    if (!media.supported()) {
      micOn = false;
      say('This browser cannot use a microphone or camera on this page (it needs a secure https:// address). You can still join and listen.');
      camButton.disabled = true;
      draw();
    }
    requestAnimationFrame(() => (field ? field.input : submit).focus());
  });
}
