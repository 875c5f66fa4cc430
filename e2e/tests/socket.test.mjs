// The websocket: the app resumes from the last seq it saw after the server
// restarts, tells the user while it is away, and stays signed in.
import assert from 'node:assert/strict';
import {
  test, startServer, launchBrowser, newPage, login, strongPassword,
} from '../lib/harness.mjs';

test('after a server restart the app reconnects with ?since= and refetches on resync', async () => {
  const password = strongPassword();
  const server = await startServer({ users: [{ username: 'alice', password, admin: true }] });
  const browser = await launchBrowser();
  const page = await newPage(browser);

  const sockets = [];
  page.on('websocket', (ws) => {
    const entry = { url: ws.url(), frames: [] };
    ws.on('framereceived', (f) => entry.frames.push(JSON.parse(f.payload)));
    sockets.push(entry);
  });

  await login(page, server.url, 'alice', password);
  await waitUntil(() => sockets[0]?.frames.some((f) => f.type === 'hello'), 'the first hello frame');
  const first = sockets[0];
  assert.match(first.url, /\/api\/v1\/ws$/, 'the first connection asks for no replay');
  const hello = first.frames.find((f) => f.type === 'hello');
  assert.equal(hello.data.user.username, 'alice');

  // While the server is down the user is told the app is reconnecting.
  const resumed = page.waitForEvent('websocket', {
    predicate: (ws) => /[?&]since=\d+$/.test(ws.url()),
    timeout: 30_000,
  });
  const refetched = page.waitForResponse((res) => res.url().endsWith('/api/v1/users/me')
    && res.status() === 200
    && sockets.some((s) => s.frames.some((f) => f.type === 'resync')), { timeout: 30_000 });
  const restarted = server.restart({ downtimeMs: 3000 });
  const banner = page.getByRole('status').filter({ hasText: /reconnecting/i });
  await banner.waitFor({ timeout: 10_000 });
  await restarted;

  // Every reconnect asks for what it missed after the last seq it saw ...
  const ws = await resumed;
  const since = Number(new URL(ws.url()).searchParams.get('since'));
  const lastSeen = Math.max(...first.frames.map((f) => f.seq ?? 0));
  assert.equal(since, lastSeen, 'reconnects from the highest seq it received');

  // A restarted server cannot replay from memory: it says "resync" and the
  // app refetches what it shows.
  // (Attempts made while the server was down opened no connection.)
  const live = () => sockets.slice(1).find((s) => s.frames.some((f) => f.type === 'hello'));
  await waitUntil(live, 'the hello after reconnecting', 30_000);
  await waitUntil(() => live().frames.some((f) => f.type === 'resync'), 'a resync frame');
  await refetched;

  // ... the banner goes away and the user is still signed in.
  await banner.waitFor({ state: 'hidden', timeout: 30_000 });
  await page.getByRole('navigation', { name: 'Sidebar' }).getByRole('button', { name: 'alice', exact: true }).waitFor();
  assert.equal(await page.locator('#app').getAttribute('data-view'), 'shell');

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

async function waitUntil(cond, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
