// Hostile text everywhere a user can put text: team, channel and display
// names, channel headers and purposes, messages, file names, call titles and
// slash command replies. Each is shown where the app shows it (the sidebar,
// the room header, the members panel, the message list with attachments,
// search results, the call card, the call view and the incoming-call popup)
// and must stay text: no handler runs, and no element or link the payload
// asked for exists in the DOM. The DOM check matters more than the flag:
// the CSP would stop an injected inline handler from running, so a page
// could hold an injection and still leave window.__xss unset.
import assert from 'node:assert/strict';
import {
  test, startServer, launchBrowser, newPage, login, screenshot, strongPassword,
} from '../lib/harness.mjs';
import { apiAs } from '../lib/api.mjs';

const IMG = '<img src=x onerror=window.__xss=1>';
const SCRIPT = '<script>window.__xss=1</script>';
const SVG = '"><svg onload=window.__xss=1>';
const JS = 'javascript:window.__xss=1';

const sidebarOf = (page) => page.getByRole('navigation', { name: 'Sidebar' });
const roomLog = (page) => page.getByRole('log', { name: /^Messages in / });
const callView = (page) => page.locator('section.call-view:not([hidden])');
const composerOf = (page) => page.getByRole('textbox', { name: /^Write to/ });

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/**
 * assertInert checks the whole page: the payloads ran nothing, and the DOM
 * holds no element they asked for: no event handler attribute, no inline
 * script, no javascript:/data:/vbscript: link or source, no iframe or
 * object. It also lets the page settle a moment first, so an image that
 * would fail to load has had the time to fire onerror.
 */
async function assertInert(page, where) {
  await page.waitForTimeout(300);
  const found = await page.evaluate(() => {
    const bad = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        for (const a of el.attributes) {
          if (/^on/i.test(a.name)) bad.push(`<${el.localName} ${a.name}="${a.value}">`);
          if (/^(href|src|action|formaction|xlink:href|data|srcdoc)$/i.test(a.name)
            && /^\s*(javascript|vbscript|data:text\/html)/i.test(a.value)) bad.push(`<${el.localName} ${a.name}="${a.value}">`);
        }
        if (el.localName === 'script' && !el.src) bad.push(`inline <script>: ${el.textContent.slice(0, 80)}`);
        if (['iframe', 'object', 'embed', 'base', 'meta'].includes(el.localName) && el.closest('body')) bad.push(`<${el.localName}> in the body`);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    return { xss: window.__xss, bad };
  });
  assert.equal(found.xss, undefined, `${where}: a payload ran (window.__xss = ${found.xss})`);
  assert.deepEqual(found.bad, [], `${where}: injected markup in the DOM`);
  assert.deepEqual(page.problems, [], `${where}: page errors or CSP violations (an injection the CSP stopped)`);
}

/** shows waits until text appears, as text, inside scope. */
async function shows(scope, text) {
  await scope.getByText(text, { exact: false }).first().waitFor();
}

async function openRoom(page, id) {
  await sidebarOf(page).locator(`a.room-link[data-channel-id="${id}"]`).click();
  await page.waitForURL((url) => url.pathname === `/channels/${id}`);
  await roomLog(page).waitFor();
}

test('hostile names, headers, messages, file names, call titles and command replies stay text', async () => {
  const alicePassword = strongPassword();
  const server = await startServer({ users: [{ username: 'alice', password: alicePassword, admin: true }] });
  const alice = await apiAs(server.url, 'alice', alicePassword);

  // People whose display names are payloads.
  const malloryPassword = strongPassword();
  const mal = await alice.call('POST', '/users', { username: 'mallory', password: malloryPassword, display_name: IMG });
  const eve = await alice.call('POST', '/users', { username: 'eve', password: strongPassword(), display_name: SVG });
  const mallory = await apiAs(server.url, 'mallory', malloryPassword);

  // A team and channels named with payloads, a header and purpose full of them.
  const team = await alice.call('POST', '/teams', { name: 'xss', display_name: SVG });
  for (const u of [mal, eve]) await alice.call('POST', `/teams/${team.id}/members`, { user_id: u.id });
  const header = `${IMG} ${SCRIPT} ${SVG} [link](${JS}) ${JS}`;
  const alpha = await alice.call('POST', '/channels', { team_id: team.id, name: 'alpha', display_name: IMG, type: 'public', header, purpose: SCRIPT });
  const bravo = await alice.call('POST', '/channels', { team_id: team.id, name: 'bravo', display_name: SVG, type: 'private' });
  const charlie = await alice.call('POST', '/channels', { team_id: team.id, name: 'charlie', display_name: SCRIPT, type: 'public' });
  for (const u of [mal, eve]) {
    await alice.call('POST', `/channels/${alpha.id}/members`, { user_id: u.id });
    await alice.call('POST', `/channels/${bravo.id}/members`, { user_id: u.id });
  }
  const dm = await alice.call('POST', '/dms', { user_ids: [mal.id] });
  const group = await alice.call('POST', '/dms', { user_ids: [mal.id, eve.id] });

  // Messages: raw HTML, every link form, in a thread too.
  const messages = [
    `${IMG} xsscanary one`,
    `${SCRIPT} xsscanary two`,
    `${SVG} xsscanary three`,
    `[click me](${JS}) xsscanary four`,
    `<a href="${JS}">raw link</a> [x](JaVaScRiPt:window.__xss=1) xsscanary five`,
    `![pic](${JS}) <${JS}> [d](data:text/html,<script>window.__xss=1</script>) [v](vbscript:msgbox) xsscanary six`,
    `\`${IMG}\` and **${SVG}** xsscanary seven`,
  ];
  let root;
  for (const m of messages) {
    const p = await mallory.call('POST', `/channels/${alpha.id}/posts`, { message: m });
    root ??= p;
  }
  await mallory.call('POST', `/channels/${alpha.id}/posts`, { message: `${SVG} xsscanary reply`, root_id: root.id });
  await mallory.call('POST', `/channels/${dm.id}/posts`, { message: `${IMG} xsscanary dm` });
  await mallory.call('POST', `/channels/${group.id}/posts`, { message: `${SVG} xsscanary group` });

  // Files named with payloads: an image (shown inline, its name as alt and
  // title) and a download card.
  const form = new FormData();
  form.append('file', new Blob([PNG], { type: 'image/png' }), `${IMG}.png`);
  form.append('file', new Blob(['hello'], { type: 'text/plain' }), `${SVG}.txt`);
  const login1 = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'mallory', password: malloryPassword }),
  });
  const { token } = await login1.json();
  const up = await fetch(`${server.url}/api/v1/channels/${alpha.id}/files`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  assert.equal(up.status, 201, 'upload');
  const { files } = await up.json();
  // (A form upload encodes '"' in a file name as %22, as browsers do.)
  assert.deepEqual(files.map((f) => f.name), [`${IMG}.png`, `${SVG.replace('"', '%22')}.txt`], 'the names are kept as sent');
  await mallory.call('POST', `/channels/${alpha.id}/posts`, { message: 'xsscanary files', file_ids: files.map((f) => f.id) });

  const browser = await launchBrowser();
  const pa = await newPage(browser);
  const pm = await newPage(browser);
  await login(pa, server.url, 'alice', alicePassword);

  // The sidebar: the team, its channels, DMs named after their people.
  await sidebarOf(pa).locator(`a.room-link[data-channel-id="${alpha.id}"]`).waitFor();
  await shows(sidebarOf(pa), IMG);
  await shows(sidebarOf(pa), SVG);
  await shows(sidebarOf(pa), SCRIPT);
  await assertInert(pa, 'sidebar');

  // The room: its name and header, the messages, the attachments.
  await openRoom(pa, alpha.id);
  await shows(pa.locator('.room-header'), IMG);
  await shows(pa.locator('.room-header'), `[link](${JS})`);
  await shows(roomLog(pa), 'xsscanary seven');
  await shows(roomLog(pa), 'xsscanary files');
  await roomLog(pa).locator(`img[alt="${IMG}.png"]`).waitFor();
  await shows(roomLog(pa), files[1].name);
  await shows(roomLog(pa), IMG); // a display name, as the author of the posts
  await assertInert(pa, 'room with messages and files');
  await screenshot(pa, 'xss-room');

  // The thread.
  const rootPost = roomLog(pa).locator('article.post').filter({ hasText: 'xsscanary one' });
  await rootPost.getByRole('button', { name: /1 reply/ }).click();
  await shows(pa.locator('section.panel'), 'xsscanary reply');
  await assertInert(pa, 'thread');

  // The members panel.
  await pa.getByRole('button', { name: /^Members/ }).click();
  const members = pa.getByRole('complementary', { name: 'Members' });
  await shows(members, IMG);
  await shows(members, SVG);
  await assertInert(pa, 'members panel');

  // Search results.
  await pa.getByRole('searchbox', { name: 'Search messages' }).fill('xsscanary');
  await pa.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  const results = pa.getByRole('complementary', { name: 'Search results' });
  await shows(results, 'xsscanary six');
  await shows(results, 'xsscanary dm');
  await assertInert(pa, 'search results');

  // Slash command replies that echo what was typed.
  for (const cmd of [`/join ~${IMG}`, `/invite @${SVG}`, `/${SCRIPT}`]) {
    await composerOf(pa).fill(cmd);
    await composerOf(pa).press('Enter');
  }
  await shows(roomLog(pa), "No public channel ~<img in this team."); // the command takes the first word
  await shows(roomLog(pa), `${SCRIPT} is not a command here`);
  await assertInert(pa, 'slash command replies');

  // A header set by command, in a private room named with a payload.
  await openRoom(pa, bravo.id);
  await composerOf(pa).fill(`/header ${SVG} ${IMG}`);
  await composerOf(pa).press('Enter');
  await shows(pa.locator('.room-header'), `${SVG} ${IMG}`);
  await assertInert(pa, 'header set by /header');

  // The DMs, named after a payload.
  await openRoom(pa, dm.id);
  await shows(roomLog(pa), 'xsscanary dm');
  await openRoom(pa, group.id);
  await shows(roomLog(pa), 'xsscanary group');
  await assertInert(pa, 'direct messages');
  await openRoom(pa, charlie.id);
  await shows(pa.locator('.room-header'), SCRIPT);
  await assertInert(pa, 'room named <script>');

  // Mallory starts a call titled with a payload: her call view, alice's
  // live card and call bar show it as text.
  await login(pm, server.url, 'mallory', malloryPassword);
  await openRoom(pm, alpha.id);
  await openRoom(pa, alpha.id);
  await composerOf(pm).fill(`/call start ${IMG}`);
  await composerOf(pm).press('Enter');
  const dialog = pm.getByRole('dialog');
  await dialog.waitFor();
  const go = dialog.getByRole('button', { name: 'Start call', exact: true });
  await go.and(pm.locator(':enabled')).waitFor();
  await go.click();
  await callView(pm).waitFor();
  await shows(callView(pm), IMG);
  await assertInert(pm, 'call view');
  const card = roomLog(pa).locator('.call-card-live');
  await shows(card, IMG);
  await pa.locator('.room-call-bar.is-live').waitFor();
  await assertInert(pa, 'live call card');
  await screenshot(pa, 'xss-call-card');

  // The call ends: the log keeps the title.
  await callView(pm).getByRole('toolbar', { name: 'Call controls' }).getByRole('button', { name: 'Leave call' }).click();
  await shows(roomLog(pa).locator('.call-card-ended'), `Call ended: ${IMG}`);
  await assertInert(pa, 'ended call card');
  // So does the room's call history, with the starter's hostile name.
  await pa.getByRole('button', { name: 'Call history' }).click();
  const history = pa.getByRole('complementary', { name: 'Calls' });
  await shows(history, IMG);
  await assertInert(pa, 'call history');
  await history.getByRole('button', { name: 'Close calls' }).click();
  await history.waitFor({ state: 'hidden' });

  // Mallory rings alice from their DM: the popup names her by her display name.
  await openRoom(pm, dm.id);
  await pm.getByRole('button', { name: 'Start a call' }).click();
  const ring = pm.getByRole('dialog');
  await ring.waitFor();
  const call = ring.getByRole('button', { name: 'Call', exact: true });
  await call.and(pm.locator(':enabled')).waitFor();
  await call.click();
  const popup = pa.getByRole('alertdialog');
  await popup.waitFor();
  await shows(popup, IMG);
  await assertInert(pa, 'incoming call popup');
  await popup.getByRole('button', { name: 'Decline', exact: true }).click();
  await popup.waitFor({ state: 'detached' });
  await assertInert(pa, 'after declining');
  await assertInert(pm, "the caller's page");
});
