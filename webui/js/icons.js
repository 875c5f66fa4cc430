// icons.js draws the UI's icons as inline SVG (stroke icons on a 24-unit grid)
// so they take the text colour and need no extra request.
import { svg } from './dom.js';

const paths = {
  chevronDown: 'M6 9l6 6 6-6',
  hash: 'M4 9h16M4 15h16M10 3 8 21M16 3l-2 18',
  menu: 'M4 6h16M4 12h16M4 18h16',
  close: 'M6 6l12 12M18 6 6 18',
  logout: 'M10 20H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h4M15 16l4-4-4-4M19 12H9',
  message: 'M4 5.5A1.5 1.5 0 0 1 5.5 4h13A1.5 1.5 0 0 1 20 5.5v9a1.5 1.5 0 0 1-1.5 1.5H9l-5 4z',
  messages: 'M3 5.5A1.5 1.5 0 0 1 4.5 4h10A1.5 1.5 0 0 1 16 5.5v6a1.5 1.5 0 0 1-1.5 1.5H8l-5 4zM19 8h.5A1.5 1.5 0 0 1 21 9.5V20l-4-3h-6.5A1.5 1.5 0 0 1 9 15.5V15',
  alert: 'M12 3 2 20h20zM12 10v4M12 17h.01',
  wifiOff: 'M2 2l20 20M8.5 16.5a5 5 0 0 1 7 0M5 12.9a10 10 0 0 1 5.2-2.8M19 12.9a10 10 0 0 0-2-1.5M2 8.8a15 15 0 0 1 4.2-2.6M22 8.8A15 15 0 0 0 11 5M12 20h.01',
  shield: 'M12 3 4 6v6c0 4.5 3.4 8.3 8 9 4.6-.7 8-4.5 8-9V6z',
};

/** icon returns an <svg> for a named icon, hidden from assistive technology. */
export function icon(name, { size = 18, className = '' } = {}) {
  const d = paths[name];
  if (!d) throw new Error(`icon: unknown name ${name}`);
  return svg('svg', {
    class: ['icon', className],
    width: size,
    height: size,
    viewBox: '0 0 24 24',
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': 2,
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
    'aria-hidden': 'true',
    focusable: 'false',
  }, svg('path', { d }));
}
