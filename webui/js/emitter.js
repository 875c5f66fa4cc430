// Emitter: named events with listener sets, shared by the chat state and
// the call controller. A listener that throws is logged and the others
// still run.

export class Emitter {
  constructor(label) {
    this.label = label;
    this.listeners = new Map();
  }

  /** on subscribes fn(detail) to the event name; returns the unsubscribe function. */
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name)?.delete(fn);
  }

  emit(name, detail) {
    for (const fn of [...(this.listeners.get(name) || [])]) {
      try {
        fn(detail);
      } catch (err) {
        console.error(`${this.label}: ${name} listener failed`, err);
      }
    }
  }
}
