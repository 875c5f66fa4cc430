// admin-system.js is the console's system page: version and uptime, what
// the data directory holds, TURN and websocket load, where the metrics are,
// how backups work, and the support bundle to send when asking for help.
import * as admin from './admin-api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import {
  pageHead, section, errorBox, loading, missingRoute,
} from './admin-widgets.js';
import { span, since, bytes } from './admin-format.js';

const POLL_MS = 5000;

/** systemPage returns {node, load(), refresh(), destroy()}. */
export function systemPage(ctx) {
  const head = pageHead({ title: 'System', text: 'How this server is doing, and how to keep its data safe.' });
  const overview = section({ title: 'Server' });
  const stats = el('div', { class: 'admin-stats' }, loading());
  overview.body.append(stats);

  const storage = section({ title: 'Data directory', text: 'What the server keeps on disk (its --data directory).' });
  const storageBody = el('div');
  storage.body.append(storageBody);

  const metrics = section({
    title: 'Metrics',
    text: 'Prometheus metrics (requests, websockets, calls, SFU packets, TURN) for your monitoring.',
  });
  metrics.body.append(el('p', null, el('a', { class: 'link-button admin-link', href: '/metrics', target: '_blank', rel: 'noopener' },
    icon('link', { size: 14 }), 'Open /metrics')));

  const backup = section({
    title: 'Backups',
    text: 'Run these on the server machine, as the user that runs calls.',
  });
  backup.body.append(
    el('p', null, 'A backup is one file holding a consistent copy of the database (taken while the server keeps running), the uploaded files, recordings, certificates and secrets:'),
    el('pre', { class: 'admin-code-block' }, el('code', null, 'calls backup /backups/calls-$(date +%F).tar.gz --data /var/lib/calls')),
    el('p', null, 'To restore, stop the server, then:'),
    el('pre', { class: 'admin-code-block' }, el('code', null, 'calls restore /backups/calls-2026-11-24.tar.gz --data /var/lib/calls')),
    el('p', { class: 'admin-muted' }, 'Restore refuses a data directory that is not empty unless you add --force; even then the old directory is kept, renamed with a .before-restore suffix. Keep backups on another machine, and try a restore now and then.'),
  );

  const support = section({
    title: 'Support bundle',
    text: 'A file to attach when you ask for help: effective settings and flags, this page\'s figures, metrics, recent server logs and the last audit entries. It never holds message contents, passwords or secrets.',
  });
  const download = el('a', {
    class: 'button button-secondary admin-download',
    href: admin.SUPPORT_BUNDLE_URL,
    download: 'calls-support-bundle.tar.gz',
  }, icon('download', { size: 16 }), 'Download support bundle');
  support.body.append(download);

  const node = el('div', { class: 'admin-page-inner' }, head.node, overview.node, storage.node, metrics.node, backup.node, support.node);

  let timer = null;
  let tickTimer = null;
  let destroyed = false;

  async function load() {
    clearTimeout(timer);
    try {
      const sys = await admin.system();
      if (destroyed) return;
      draw(sys);
    } catch (err) {
      if (destroyed) return;
      if (err.status === 403) {
        ctx.onForbidden();
        return;
      }
      stats.replaceChildren(missingRoute(err)
        ? el('p', { class: 'admin-empty' }, 'This server does not report its status yet.')
        : errorBox(`Could not load the server status: ${err.message}`, { onRetry: load }));
      storage.node.hidden = missingRoute(err);
      return;
    }
    if (!destroyed) timer = setTimeout(load, POLL_MS);
  }

  function draw(sys) {
    const turn = sys.turn || {};
    const goRt = sys.go || {};
    const started = sys.started_at;
    const uptime = el('span', { class: 'admin-uptime', dataset: started ? { since: started } : null },
      span(started ? since(started) : sys.uptime_s));
    stats.replaceChildren(el('dl', { class: 'admin-stat-grid' },
      stat('Version', sys.version || 'unknown'),
      stat('Uptime', uptime),
      stat('Websocket clients', num(sys.websocket_clients)),
      stat('Active calls', num(sys.active_calls)),
      Number.isFinite(sys.call_participants) ? stat('People in calls', num(sys.call_participants)) : null,
      stat('TURN allocations', turn.enabled === false ? 'TURN is off' : num(turn.allocations)),
      stat('Goroutines', num(goRt.goroutines)),
      stat('Memory in use', Number.isFinite(goRt.heap_bytes) ? bytes(goRt.heap_bytes) : '–'),
      goRt.version ? stat('Go', goRt.version) : null,
      sys.schema_version != null ? stat('Database schema', String(sys.schema_version)) : null,
    ));
    const d = sys.data_dir || {};
    const rows = [
      ['Database', d.db_bytes, null],
      ['Write-ahead log', d.wal_bytes, null],
      ['Uploaded files', d.files_bytes, d.files_count],
      ['Recordings', d.recordings_bytes, d.recordings_count],
    ].filter(([, b]) => Number.isFinite(b));
    const total = rows.reduce((n, [, b]) => n + b, 0);
    storage.node.hidden = !rows.length;
    storageBody.replaceChildren(
      d.path ? el('p', { class: 'admin-muted' }, 'In ', el('code', { class: 'admin-target' }, d.path)) : '',
      el('dl', { class: 'admin-stat-grid' },
        rows.map(([label, b, count]) => stat(label, `${bytes(b)}${Number.isFinite(count) ? ` · ${count === 1 ? '1 file' : `${count} files`}` : ''}`)),
        stat('Total', bytes(total))),
    );
  }

  function tick() {
    const u = stats.querySelector('.admin-uptime[data-since]');
    if (u) u.textContent = span(since(u.dataset.since));
  }
  tickTimer = setInterval(tick, 1000);

  return {
    node,
    load,
    refresh: load,
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      clearInterval(tickTimer);
    },
  };
}

function stat(label, value) {
  return el('div', { class: 'admin-stat' }, el('dt', null, label), el('dd', null, value));
}

function num(n) {
  return Number.isFinite(n) ? n.toLocaleString() : '–';
}
