// ringer.js plays the call tones with Web Audio, so the app ships no sound
// files: the incoming-call ring (a soft two-note chime, repeated) and the
// quieter ringback a caller hears while the other side rings. The volume is
// a setting kept in this browser.

const VOLUME_KEY = 'calls.ringVolume';
const DEFAULT_VOLUME = 0.7;

let ctx = null;

/** audioContext returns the page's shared AudioContext (made on first use). */
export function audioContext() {
  if (!ctx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    ctx = new AC();
  }
  // A context made before any user gesture starts suspended; each gesture
  // that reaches here gives it another chance.
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

/** ringVolume is the saved ring volume, 0..1. */
export function ringVolume() {
  const v = Number.parseFloat(localStorage.getItem(VOLUME_KEY));
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : DEFAULT_VOLUME;
}

export function setRingVolume(v) {
  localStorage.setItem(VOLUME_KEY, String(Math.min(1, Math.max(0, v))));
  for (const r of active) r.setVolume(ringVolume());
}

const active = new Set();

// Patterns: [frequency Hz, start s, length s] notes, repeated every period s.
const PATTERNS = {
  incoming: { period: 2.6, gain: 1, notes: [[880, 0, 0.34], [1175, 0.36, 0.5], [880, 1.0, 0.34], [1175, 1.36, 0.5]] },
  outgoing: { period: 3.5, gain: 0.25, notes: [[440, 0, 1.2], [480, 0, 1.2]] },
  test: { period: 0, gain: 1, notes: [[880, 0, 0.34], [1175, 0.36, 0.5]] },
};

/**
 * Ringer plays one pattern until stop(). Starting is safe without a user
 * gesture: the browser may keep the context silent until one comes.
 *
 *   const r = new Ringer('incoming'); r.start(); … r.stop();
 */
export class Ringer {
  constructor(kind = 'incoming') {
    this.pattern = PATTERNS[kind] || PATTERNS.incoming;
    this.timer = null;
    this.out = null;
    this.playing = false;
  }

  start() {
    if (this.playing) return;
    const ac = audioContext();
    if (!ac) return;
    this.playing = true;
    this.out = ac.createGain();
    this.out.connect(ac.destination);
    this.setVolume(ringVolume());
    active.add(this);
    const loop = () => {
      if (!this.playing) return;
      this.schedule(ac, ac.currentTime + 0.05);
      if (this.pattern.period > 0) this.timer = setTimeout(loop, this.pattern.period * 1000);
      else this.timer = setTimeout(() => this.stop(), 1500);
    };
    loop();
  }

  setVolume(v) {
    // Perceived loudness is roughly logarithmic: square the slider value.
    if (this.out) this.out.gain.value = v * v * this.pattern.gain * 0.35;
  }

  schedule(ac, at) {
    for (const [freq, start, len] of this.pattern.notes) {
      const osc = ac.createOscillator();
      const env = ac.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      const t0 = at + start;
      env.gain.setValueAtTime(0, t0);
      env.gain.linearRampToValueAtTime(1, t0 + 0.02);
      env.gain.exponentialRampToValueAtTime(0.001, t0 + len);
      osc.connect(env).connect(this.out);
      osc.start(t0);
      osc.stop(t0 + len + 0.05);
    }
  }

  stop() {
    this.playing = false;
    clearTimeout(this.timer);
    this.timer = null;
    active.delete(this);
    if (this.out) {
      const out = this.out;
      this.out = null;
      try {
        out.gain.setTargetAtTime(0, out.context.currentTime, 0.02);
        setTimeout(() => out.disconnect(), 200);
      } catch {
        out.disconnect();
      }
    }
  }
}

/** playTest plays the ring once at the saved volume (the settings' "Test" button). */
export function playTest() {
  new Ringer('test').start();
}
