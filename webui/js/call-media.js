// call-media.js opens the microphone and camera with the devices and
// processing the user chose (remembered in this browser), turns the
// browser's media errors into sentences a person can act on, and measures
// input level with an AnalyserNode for the meters and the "you are muted"
// hint.
import { el } from './dom.js';
import { audioContext } from './ringer.js';

const PREFS_KEY = 'calls.media';
const DEFAULTS = { micId: '', cameraId: '', speakerId: '', noiseSuppression: true, echoCancellation: true };

/** prefs returns the saved device choices. */
export function prefs() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(PREFS_KEY) || '{}') };
  } catch {
    return { ...DEFAULTS };
  }
}

export function savePrefs(patch) {
  const next = { ...prefs(), ...patch };
  localStorage.setItem(PREFS_KEY, JSON.stringify(next));
  return next;
}

/** supported says whether this page may capture media at all (needs HTTPS or localhost). */
export function supported() {
  return Boolean(navigator.mediaDevices?.getUserMedia);
}

/** canPickSpeaker says whether audio output can be chosen (HTMLMediaElement.setSinkId). */
export const canPickSpeaker = () => typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/** canShareScreen says whether getDisplayMedia exists (not on phones). */
export const canShareScreen = () => Boolean(navigator.mediaDevices?.getDisplayMedia);

function audioConstraints(p = prefs()) {
  return {
    deviceId: p.micId ? { ideal: p.micId } : undefined,
    noiseSuppression: p.noiseSuppression,
    echoCancellation: p.echoCancellation,
    autoGainControl: true,
  };
}

function videoConstraints(p = prefs()) {
  return {
    deviceId: p.cameraId ? { ideal: p.cameraId } : undefined,
    width: { ideal: 640 },
    height: { ideal: 360 },
    frameRate: { ideal: 24, max: 30 },
  };
}

/** openMic resolves to a microphone track or throws a MediaError. */
export async function openMic() {
  const stream = await capture({ audio: audioConstraints() }, 'mic');
  return stream.getAudioTracks()[0];
}

/** openCamera resolves to a camera track or throws a MediaError. */
export async function openCamera() {
  const stream = await capture({ video: videoConstraints() }, 'camera');
  return stream.getVideoTracks()[0];
}

/**
 * openScreen asks for a screen, window or tab (with the tab's audio where
 * the browser offers it). Resolves to the stream, or null when the user
 * cancelled the picker.
 */
export async function openScreen() {
  if (!canShareScreen()) throw new MediaError('This browser cannot share the screen.', 'unsupported');
  try {
    return await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15, max: 30 } },
      audio: true,
      systemAudio: 'include',
      selfBrowserSurface: 'exclude',
    });
  } catch (err) {
    if (err?.name === 'NotAllowedError' || err?.name === 'AbortError') {
      // Cancelling the picker reads the same as a refusal in most browsers.
      if (/permission denied by system/i.test(err.message)) {
        throw new MediaError('Screen sharing is blocked by the operating system. Allow this browser to record the screen in its privacy settings.', 'denied');
      }
      return null;
    }
    throw new MediaError(`Could not share the screen: ${err?.message || err}`, 'failed');
  }
}

/** MediaError is a capture failure with a message for people and a code. */
export class MediaError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'MediaError';
    this.code = code;
  }
}

async function capture(constraints, kind) {
  if (!supported()) {
    throw new MediaError(location.protocol === 'http:' && location.hostname !== 'localhost' && location.hostname !== '127.0.0.1'
      ? 'This browser only allows microphones and cameras on secure (https://) sites. Ask your admin to serve calls over HTTPS.'
      : 'This browser cannot use a microphone or camera here.', 'unsupported');
  }
  // A device that could not start (NotReadableError, AbortError) is often
  // only busy for a moment: being released by another tab, or the browser's
  // audio service still starting on a loaded machine. Three more tries,
  // 0.3, 0.6 and 1.2 s apart, before saying so.
  for (let attempt = 0; ; attempt++) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      const busy = err?.name === 'NotReadableError' || err?.name === 'AbortError';
      console.warn(`The ${kind} did not start (${err?.name}: ${err?.message})${busy && attempt < 3 ? '; trying again' : ''}`);
      if (busy && attempt < 3) {
        await new Promise((resolve) => setTimeout(resolve, 300 * 2 ** attempt));
        continue;
      }
      throw mediaError(err, kind);
    }
  }
}

/** mediaError turns a getUserMedia failure into a MediaError. */
export function mediaError(err, kind) {
  const what = kind === 'camera' ? 'camera' : 'microphone';
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new MediaError(`Access to your ${what} was denied. Allow it for this site (the ${what} icon in the address bar, or the browser's site settings), then try again.`, 'denied');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new MediaError(`No ${what} was found. Plug one in, or check that it is turned on.`, 'no_device');
    case 'NotReadableError':
    case 'AbortError':
      return new MediaError(`Your ${what} could not be started: another app may be using it.`, 'busy');
    default:
      return new MediaError(`Your ${what} could not be opened: ${err?.message || err}`, 'failed');
  }
}

/** devices lists the inputs and outputs (labels appear once a permission was given). */
export async function devices() {
  if (!navigator.mediaDevices?.enumerateDevices) return { mics: [], cameras: [], speakers: [] };
  const list = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind) => list.filter((d) => d.kind === kind && d.deviceId);
  return { mics: pick('audioinput'), cameras: pick('videoinput'), speakers: pick('audiooutput') };
}

/**
 * LevelMeter reports the input level of an audio track, 0..1, about ten
 * times a second. It listens to a clone of the track, so a muted (disabled)
 * sending track can still be measured for the "you are muted" hint.
 */
export class LevelMeter {
  constructor(track, onLevel) {
    this.onLevel = onLevel;
    this.track = track.clone();
    this.track.enabled = true;
    const ac = audioContext();
    this.timer = null;
    if (!ac) return;
    this.source = ac.createMediaStreamSource(new MediaStream([this.track]));
    this.analyser = ac.createAnalyser();
    this.analyser.fftSize = 512;
    this.source.connect(this.analyser);
    this.buf = new Float32Array(this.analyser.fftSize);
    this.timer = setInterval(() => this.tick(), 100);
  }

  tick() {
    this.analyser.getFloatTimeDomainData(this.buf);
    let sum = 0;
    for (const v of this.buf) sum += v * v;
    const rms = Math.sqrt(sum / this.buf.length);
    // Map about -60..0 dBFS onto 0..1.
    const db = 20 * Math.log10(rms || 1e-8);
    this.onLevel(Math.min(1, Math.max(0, (db + 60) / 60)));
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    try {
      this.source?.disconnect();
    } catch {
      // already gone
    }
    this.track.stop();
  }
}

/** levelBar is a level meter: call set(level) to move it. */
export function levelBar(label = 'Microphone level') {
  const fill = el('span', { class: 'level-fill' });
  const node = el('span', { class: 'level-bar', role: 'meter', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, fill);
  return {
    node,
    set(level) {
      const pct = Math.round(level * 100);
      fill.style.setProperty('--level', `${pct}%`);
      node.setAttribute('aria-valuenow', String(pct));
    },
  };
}
