// The system console in real browsers against the real server: only admins
// get it; a setting changed there applies at once (a DM rings for the new
// timeout, the call button goes away live where calls are turned off); a bad
// value is refused next to its field; a setting fixed by a flag cannot be
// changed; users are created, invited by link and deactivated; active calls
// can be ended. Each console page is saved as a screenshot in test-output/.
import assert from 'node:assert/strict';
import {
  test, launchBrowser, newPage, login, waitForView, screenshot, strongPassword,
} from '../lib/harness.mjs';
import { apiAs } from '../lib/api.mjs';
import {
  sidebarOf, roomLog, openRoom, preflight, setup, instrument, inboundGrows, controls, callView, leave,
} from '../lib/calls.mjs';

const consolePages = (page) => page.getByRole('navigation', { name: 'System console pages' });
const callButton = (page) => page.locator('.room-header').getByRole('button', { name: 'Start a call' });

/**
 * settle waits until the room opened after login has loaded and taken the
 * focus (into its composer), so keyboard steps after it are not raced.
 */
async function settle(page) {
  await roomLog(page).waitFor();
  await page.waitForFunction(() => document.activeElement?.classList.contains('composer-input'));
}

/** openConsole opens the system console from the account menu, with the keyboard. */
async function openConsole(page, username) {
  const account = sidebarOf(page).getByRole('button', { name: username, exact: true });
  await account.focus();
  await page.keyboard.press('Enter');
  const item = page.getByRole('menuitem', { name: 'System console' });
  await item.waitFor();
  assert.ok(await item.evaluate((node) => node === document.activeElement), 'the menu opens on System console');
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.pathname === '/admin/settings');
  await page.getByRole('heading', { name: 'Settings', level: 2 }).waitFor();
}

async function consolePage(page, name, heading = name) {
  await consolePages(page).getByRole('link', { name }).click();
  await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
}

/**
 * consoleShot saves a picture of the whole console page: the page scrolls
 * inside the app frame, so the window grows to its height for the picture.
 */
async function consoleShot(page, name) {
  const size = page.viewportSize();
  const extra = await page.evaluate(() => {
    const scroller = document.querySelector('.admin-page');
    if (!scroller) return 0;
    scroller.scrollTop = 0;
    return scroller.scrollHeight - scroller.clientHeight;
  });
  if (extra > 0) await page.setViewportSize({ width: size.width, height: size.height + extra });
  await page.waitForTimeout(200);
  await screenshot(page, name);
  if (extra > 0) await page.setViewportSize(size);
}

async function save(page) {
  await page.getByRole('button', { name: 'Save changes' }).click();
}

test('members get no console: no menu item, and /admin says admins only', async () => {
  const { server, passwords } = await setup(['alice', 'bob']);
  const browser = await launchBrowser();
  const page = await newPage(browser);
  await login(page, server.url, 'bob', passwords.bob);

  await sidebarOf(page).getByRole('button', { name: 'bob', exact: true }).click();
  await page.getByRole('menuitem', { name: 'Log out' }).waitFor();
  assert.equal(await page.getByRole('menuitem', { name: 'System console' }).count(), 0, 'a member has no System console item');
  await page.keyboard.press('Escape');

  await page.goto(`${server.url}/admin/users`);
  await waitForView(page, 'shell');
  await page.getByRole('heading', { name: 'Admins only' }).waitFor();
  await screenshot(page, 'admin-members-only');
  assert.equal(await consolePages(page).count(), 0, 'no console pages for a member');
  assert.equal(await page.getByRole('table').count(), 0, 'no user list for a member');
  await page.getByRole('main').getByRole('button', { name: 'Back to chat' }).last().click();
  await page.waitForURL((url) => !url.pathname.startsWith('/admin'));

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('the ring timeout set in the console applies to the next DM call; a flag-fixed setting stays fixed', async () => {
  const { server, passwords, apis } = await setup(['alice', 'bob'], ['--max-call-participants', '8']);
  const dm = await apis.alice.call('POST', '/dms', { user_ids: [apis.bob.user.id] });
  const browser = await launchBrowser();
  const [pa, pb] = await Promise.all([newPage(browser), newPage(browser)]);
  await Promise.all([login(pa, server.url, 'alice', passwords.alice), login(pb, server.url, 'bob', passwords.bob)]);
  await settle(pa);

  await openConsole(pa, 'alice');

  // The flag fixed the participants cap: shown, disabled, and why.
  const cap = pa.getByLabel('Most people in one call');
  assert.equal(await cap.inputValue(), '8');
  assert.ok(await cap.isDisabled(), 'a flag-fixed setting cannot be edited');
  const capField = pa.locator('.admin-field[data-key="max_call_participants"]');
  await capField.getByText('Fixed', { exact: true }).waitFor();
  assert.match(await capField.locator('.admin-fixed').textContent(), /Fixed by the command line \(--max-call-participants\)/);

  // A bad value is refused next to its field, and nothing is saved.
  const timeout = pa.getByLabel('Ring timeout');
  await timeout.fill('forever');
  await pa.getByLabel('Group messages').uncheck();
  await save(pa);
  const error = pa.locator('.admin-field[data-key="ring_timeout"] .field-error');
  await error.waitFor();
  assert.match(await error.textContent(), /Ring timeout must be a duration/);
  assert.equal(await timeout.getAttribute('aria-invalid'), 'true');
  const stored = await apis.alice.call('GET', '/settings');
  assert.equal(stored.ring_timeout, '30s', 'the bad value was not saved');
  assert.notEqual(stored.calls_in_groups ?? stored.calls_group_dms, false, 'nor was the other change sent with it');

  // A good one is saved and announced.
  await pa.getByLabel('Group messages').check();
  await timeout.fill('5s');
  await save(pa);
  await pa.getByRole('status').filter({ hasText: /Saved one change/ }).waitFor();
  await error.waitFor({ state: 'hidden' });
  assert.equal((await apis.bob.call('GET', '/settings')).ring_timeout, '5s');
  await consoleShot(pa, 'admin-settings');

  // The next DM call rings for five seconds: it rings, and it is missed
  // about five seconds after it started, well before the old thirty. (The
  // time is taken from when the pre-flight closed, about when the ring
  // began; a busy machine makes it read longer, never much shorter.)
  await pa.getByRole('button', { name: 'Back to chat' }).click();
  await openRoom(pa, dm.id);
  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Call');
  const started = Date.now();
  const popup = pb.getByRole('alertdialog', { name: 'alice' });
  await popup.waitFor();
  await pa.locator('.room-call-bar.is-missed').getByRole('button', { name: 'Call again' }).waitFor({ timeout: 20_000 });
  const rang = Date.now() - started;
  assert.ok(rang >= 4000 && rang < 25_000, `missed after ${rang} ms, about the five seconds set`);
  assert.match(await pa.locator('.room-call-bar').textContent(), /No answer/);
  await popup.waitFor({ state: 'detached', timeout: 10_000 });

  // The change is in the audit log, old and new value.
  await openConsole(pa, 'alice');
  await consolePage(pa, 'Audit log');
  const entry = pa.locator('.admin-table tr', { hasText: 'ring_timeout' }).first();
  await entry.waitFor();
  assert.match(await entry.textContent(), /30s.*5s/);
  assert.match(await entry.textContent(), /alice/);
  await consoleShot(pa, 'admin-audit');

  for (const page of [pa, pb]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('calls turned off for DMs: the call button goes away live and /call start says why; an admin ends a call', async () => {
  const { server, passwords, apis } = await setup(['alice', 'bob']);
  const dm = await apis.alice.call('POST', '/dms', { user_ids: [apis.bob.user.id] });
  const town = (await apis.bob.call('GET', '/channels')).channels.find((c) => c.name === 'town-square');
  const browser = await launchBrowser();
  const [pa, pb] = await Promise.all([newPage(browser), newPage(browser)]);
  await Promise.all([login(pa, server.url, 'alice', passwords.alice), login(pb, server.url, 'bob', passwords.bob)]);
  await openRoom(pb, dm.id);
  await callButton(pb).waitFor();

  await settle(pa);
  await openConsole(pa, 'alice');
  await pa.getByLabel('Direct messages').uncheck();
  await save(pa);
  await pa.getByRole('status').filter({ hasText: /Saved one change/ }).waitFor();

  // Bob's DM loses its call button without a reload ...
  await callButton(pb).waitFor({ state: 'hidden' });
  // ... and /call start tells him why instead of starting a call.
  const box = pb.getByRole('textbox', { name: /^Write to/ });
  await box.fill('/call start');
  await box.press('Enter');
  await roomLog(pb).locator('.post-ephemeral', { hasText: /Calls are turned off (for|in) direct messages/ }).waitFor();
  assert.equal(await pb.locator('section.call-view:not([hidden])').count(), 0, 'no call started');

  // Channels still take calls: bob starts one in town-square.
  await openRoom(pb, town.id);
  await callButton(pb).click();
  await preflight(pb, 'Start call');
  await pb.locator('section.call-view:not([hidden])').waitFor();

  // The console lists it live, with bob in it, and the admin ends it.
  await consolePage(pa, 'Calls');
  const card = pa.locator('.admin-call', { hasText: 'Town Square' });
  await card.waitFor({ timeout: 15_000 });
  const bobRow = card.locator(`tr[data-user-id="${apis.bob.user.id}"]`);
  await bobRow.waitFor();
  // His microphone's bitrate shows up once audio flows.
  await bobRow.locator('td', { hasText: /\d+ (kbit|bit)\/s/ }).first().waitFor({ timeout: 20_000 });
  const duration = card.locator('.admin-call-duration');
  const before = await duration.textContent();
  await pa.waitForFunction((t) => document.querySelector('.admin-call-duration')?.textContent !== t, before, { timeout: 5000 });

  // Bob records; the console shows it and the admin stops it.
  await apis.bob.call('POST', `/channels/${town.id}/commands`, { command: '/call recording start' });
  const stop = card.getByRole('button', { name: 'Stop recording' });
  await stop.waitFor({ timeout: 15_000 });
  assert.match(await card.locator('.admin-pill.is-rec').textContent(), /Recording · by bob/);
  await consoleShot(pa, 'admin-calls');
  await stop.click();
  await pa.getByRole('dialog', { name: 'Stop the recording?' }).getByRole('button', { name: 'Stop recording' }).click();
  await stop.waitFor({ state: 'detached', timeout: 15_000 });
  await card.getByText('Not recording').waitFor();

  await card.getByRole('button', { name: 'End call' }).click();
  const confirm = pa.getByRole('dialog', { name: 'End this call?' });
  await confirm.getByRole('button', { name: 'End call' }).click();
  await card.waitFor({ state: 'detached', timeout: 15_000 });
  await pb.locator('section.call-view').waitFor({ state: 'hidden', timeout: 15_000 });

  // Past calls: found by room and by person, not by someone who was not in it.
  const history = pa.getByRole('search', { name: 'Search past calls' });
  await history.getByLabel('Room').fill('town');
  await history.getByLabel('Person').fill('bob');
  await history.getByRole('button', { name: 'Search' }).click();
  const past = pa.locator('.admin-history tr[data-call-id]');
  await past.first().waitFor();
  assert.equal(await past.count(), 1);
  assert.match(await past.first().textContent(), /Town Square.*bob/);
  await history.getByLabel('Person').fill('alice');
  await history.getByRole('button', { name: 'Search' }).click();
  await pa.locator('.admin-history').getByText('No calls match.').waitFor();

  // Turning DMs back on brings the button back, live.
  await consolePage(pa, 'Settings');
  await pa.getByLabel('Direct messages').check();
  await save(pa);
  await openRoom(pb, dm.id);
  await callButton(pb).waitFor();

  for (const page of [pa, pb]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('default mic off and camera on, set in the console: the pre-flight starts so, and accepting a DM ring joins so', async () => {
  const { server, passwords, apis } = await setup(['alice', 'bob']);
  const dm = await apis.alice.call('POST', '/dms', { user_ids: [apis.bob.user.id] });
  const town = (await apis.bob.call('GET', '/channels')).channels.find((c) => c.name === 'town-square');
  const browser = await launchBrowser();
  const [pa, pb] = await Promise.all([newPage(browser), newPage(browser)]);
  await instrument(pa);
  await Promise.all([login(pa, server.url, 'alice', passwords.alice), login(pb, server.url, 'bob', passwords.bob)]);
  await settle(pa);

  await openConsole(pa, 'alice');
  await pa.getByLabel('Microphone on when joining').uncheck();
  await pa.getByLabel('Camera on when joining').check();
  await save(pa);
  await pa.getByRole('status').filter({ hasText: /Saved 2 changes/ }).waitFor();
  const stored = await apis.bob.call('GET', '/settings');
  assert.equal(stored.default_mic_on, false);
  assert.equal(stored.default_camera_on, true);

  // Bob, logged in before the change, opens the pre-flight: the microphone
  // starts off and the camera on, with its preview showing.
  await openRoom(pb, town.id);
  await callButton(pb).click();
  const dialog = pb.getByRole('dialog', { name: 'Start a call in Town Square' });
  await dialog.getByRole('button', { name: 'Microphone off' }).waitFor();
  await dialog.getByRole('button', { name: 'Camera on' }).waitFor();
  assert.equal(await dialog.getByRole('button', { name: 'Microphone on' }).count(), 0);
  await dialog.locator('video.preflight-video:not([hidden])').waitFor();
  await pb.waitForFunction(() => document.querySelector('video.preflight-video')?.srcObject?.getVideoTracks()[0]?.readyState === 'live');
  await dialog.getByRole('button', { name: 'Start call', exact: true }).and(pb.locator(':enabled')).waitFor();
  await screenshot(pb, 'preflight-defaults');
  await pb.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  // Accepting a DM ring skips the pre-flight: bob joins muted, his camera on,
  // and alice receives his video.
  await pa.getByRole('button', { name: 'Back to chat' }).click();
  await openRoom(pa, dm.id);
  await pa.getByRole('button', { name: 'Start a call' }).click();
  await preflight(pa, 'Call');
  const popup = pb.getByRole('alertdialog', { name: 'alice' });
  await popup.getByRole('button', { name: 'Accept' }).click();
  await callView(pb).waitFor();
  await controls(pb).getByRole('button', { name: 'Unmute' }).and(pb.locator(':enabled')).waitFor();
  await controls(pb).getByRole('button', { name: 'Turn camera off' }).waitFor();
  await inboundGrows(pa, 'video', 'alice sees bob\'s camera');

  await leave(pb);
  await leave(pa);

  // Where cameras are not allowed, the camera starts off whatever the default.
  await apis.alice.call('PATCH', '/admin/settings', { video_allowed: false });
  // (A reload reads the settings afresh, so the test does not race the
  // settings_changed event.)
  await pb.reload();
  await waitForView(pb, 'shell');
  await openRoom(pb, town.id);
  await callButton(pb).click();
  await dialog.getByRole('button', { name: 'Camera off' }).waitFor();
  await dialog.getByRole('button', { name: 'Start call', exact: true }).and(pb.locator(':enabled')).waitFor();
  assert.equal(await dialog.getByRole('button', { name: 'Camera on' }).count(), 0, 'no camera where cameras are not allowed');
  await pb.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  for (const page of [pa, pb]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('users: create one, invite by link and sign up in a fresh browser, deactivate from the console', async () => {
  const { server, passwords } = await setup(['alice']);
  const browser = await launchBrowser();
  const pa = await newPage(browser);
  await login(pa, server.url, 'alice', passwords.alice);
  await settle(pa);
  await openConsole(pa, 'alice');
  await consolePage(pa, 'Users');

  // Create carol.
  const carolPassword = strongPassword();
  await pa.getByRole('button', { name: 'Create user' }).click();
  const create = pa.getByRole('dialog', { name: 'Create user' });
  await create.getByLabel('Username').fill('carol');
  await create.getByLabel('Display name (optional)').fill('Carol Jones');
  await create.getByLabel('Password').fill(carolPassword);
  await create.getByRole('button', { name: 'Create user' }).click();
  await create.waitFor({ state: 'detached' });
  await pa.locator('tr[data-username="carol"]').waitFor();
  const carol = await apiAs(server.url, 'carol', carolPassword);
  assert.equal(carol.user.username, 'carol');

  // Search finds her and only her.
  await pa.getByRole('searchbox', { name: 'Search users' }).fill('car');
  await pa.locator('tr[data-username="alice"]').waitFor({ state: 'detached' });
  await pa.locator('tr[data-username="carol"]').waitFor();
  await pa.getByRole('searchbox', { name: 'Search users' }).fill('');
  await pa.locator('tr[data-username="alice"]').waitFor();

  // An invite link, shown to copy ...
  await pa.getByRole('button', { name: 'Invite people' }).click();
  const inviteDialog = pa.getByRole('dialog', { name: 'Invite people' });
  await inviteDialog.getByRole('button', { name: 'Create invite link' }).click();
  const linkDialog = pa.getByRole('dialog', { name: 'Invite link' });
  const link = linkDialog.getByLabel('Invite link');
  await link.waitFor();
  const url = await link.inputValue();
  assert.match(url, /\/invite\/[A-Za-z0-9_-]+$/);
  await linkDialog.getByRole('button', { name: 'Copy' }).click();
  await linkDialog.getByRole('status').filter({ hasText: /Copied|Select the link/ }).waitFor();
  await screenshot(pa, 'admin-invite-link');
  await linkDialog.getByRole('button', { name: 'Close' }).first().click();
  await pa.locator('tr[data-invite-id][data-state="usable"]').first().waitFor();

  // ... accepted in a fresh browser context: dave signs up and is in.
  const pd = await newPage(browser);
  const davePassword = strongPassword();
  await pd.goto(new URL(new URL(url).pathname, server.url).href);
  await waitForView(pd, 'invite');
  await pd.getByRole('heading', { name: /^Join / }).waitFor();
  await screenshot(pd, 'invite-signup');
  await pd.getByLabel('Username').fill('dave');
  await pd.getByLabel('Full name (optional)').fill('Dave Smith');
  await pd.getByLabel('Password', { exact: true }).fill(davePassword);
  await pd.getByLabel('Repeat the password').fill(davePassword);
  await pd.getByRole('button', { name: 'Create account' }).click();
  await waitForView(pd, 'shell');
  await sidebarOf(pd).getByRole('button', { name: /Dave Smith/ }).waitFor();

  // The link was for one person: it no longer works.
  const pe = await newPage(browser);
  await pe.goto(new URL(new URL(url).pathname, server.url).href);
  await pe.getByRole('heading', { name: 'This invite link does not work' }).waitFor();

  // Deactivate dave from the console: his browser is signed out at once.
  await consolePage(pa, 'Audit log');
  await consolePage(pa, 'Users');
  const daveRow = pa.locator('tr[data-username="dave"]');
  await daveRow.waitFor();
  await daveRow.getByRole('button', { name: 'Deactivate dave' }).click();
  await pa.getByRole('dialog', { name: 'Deactivate dave?' }).getByRole('button', { name: 'Deactivate' }).click();
  await daveRow.getByText('Deactivated', { exact: true }).waitFor();
  await waitForView(pd, 'login', { timeout: 30_000 });
  await pa.locator('tr[data-invite-id][data-state="used"]').waitFor();
  await consoleShot(pa, 'admin-users');

  // A reset link for carol, copyable, and it sets a new password.
  await pa.locator('tr[data-username="carol"]').getByRole('button', { name: 'Reset password of carol' }).click();
  const resetDialog = pa.getByRole('dialog', { name: 'Password reset link for carol' });
  const resetURL = await resetDialog.getByLabel('Reset link').inputValue();
  assert.match(resetURL, /\/reset\/[A-Za-z0-9_-]+$/);
  await resetDialog.getByRole('button', { name: 'Close' }).first().click();
  const pc = await newPage(browser);
  const newPassword = strongPassword();
  await pc.goto(new URL(new URL(resetURL).pathname, server.url).href);
  await pc.getByLabel('New password', { exact: true }).fill(newPassword);
  await pc.getByLabel('Repeat the new password').fill(newPassword);
  await pc.getByRole('button', { name: 'Set password' }).click();
  await waitForView(pc, 'login');
  await pc.getByText('Your password has been changed').waitFor();
  await login(pc, server.url, 'carol', newPassword);

  // Roles: carol becomes a guest; the last admin cannot step down.
  await pa.getByRole('combobox', { name: 'Role of carol' }).selectOption('guest');
  await pa.getByRole('status').filter({ hasText: '@carol is now a guest' }).waitFor();
  const carolNow = (await apiAs(server.url, 'alice', passwords.alice)).call;
  assert.equal((await carolNow('GET', '/admin/users?q=carol')).users.find((u) => u.username === 'carol').role, 'guest');
  await pa.getByRole('combobox', { name: 'Role of alice' }).selectOption('member');
  await pa.getByRole('dialog', { name: 'Give up admin rights?' }).getByRole('button', { name: 'Change my role' }).click();
  await pa.getByRole('status').filter({ hasText: /last active admin/ }).waitFor();
  assert.equal(await pa.getByRole('combobox', { name: 'Role of alice' }).inputValue(), 'admin');

  for (const page of [pa, pd, pe, pc]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('the system page and the console on a 375 px phone', async () => {
  const { server, passwords } = await setup(['alice']);
  const browser = await launchBrowser();
  const pa = await newPage(browser);
  await login(pa, server.url, 'alice', passwords.alice);
  await pa.goto(`${server.url}/admin/system`);
  await waitForView(pa, 'shell');
  await pa.getByRole('heading', { name: 'System', level: 2 }).waitFor();
  await pa.locator('.admin-stat', { hasText: 'Uptime' }).waitFor();
  await pa.getByRole('link', { name: 'Open /metrics' }).waitFor();
  await pa.getByText('calls backup', { exact: false }).first().waitFor();
  const bundle = pa.getByRole('link', { name: 'Download support bundle' });
  const [download] = await Promise.all([pa.waitForEvent('download'), bundle.click()]);
  assert.match(download.suggestedFilename(), /\.tar\.gz$|\.tgz$/);
  await consoleShot(pa, 'admin-system');

  const phone = await newPage(browser, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  await login(phone, server.url, 'alice', passwords.alice);
  for (const page of ['settings', 'users', 'calls', 'system', 'audit']) {
    await phone.goto(`${server.url}/admin/${page}`);
    await waitForView(phone, 'shell');
    await phone.locator('.admin-title').waitFor();
    await phone.locator('.admin-loading').first().waitFor({ state: 'detached' });
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `/admin/${page} is ${width} px wide, wider than the phone`);
  }
  await phone.goto(`${server.url}/admin/settings`);
  await phone.locator('.admin-settings-group').first().waitFor();
  await consoleShot(phone, 'admin-settings-375px');

  for (const page of [pa, phone]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('open sign-up chosen in the console puts a Sign up link on the login page', async () => {
  const { server, passwords } = await setup(['alice']);
  const browser = await launchBrowser();
  const visitor = await newPage(browser);
  await visitor.goto(server.url);
  await waitForView(visitor, 'login');
  assert.equal(await visitor.getByRole('link', { name: 'Sign up' }).count(), 0, 'no sign-up link while sign-up is by invite');

  const pa = await newPage(browser);
  await login(pa, server.url, 'alice', passwords.alice);
  await pa.goto(`${server.url}/admin/settings`);
  await pa.getByLabel('Who can get an account').selectOption('open');
  await save(pa);
  await pa.getByRole('status').filter({ hasText: /Saved one change/ }).waitFor();

  await visitor.reload();
  await waitForView(visitor, 'login');
  await visitor.getByRole('link', { name: 'Sign up' }).click();
  await waitForView(visitor, 'signup');
  assert.equal(new URL(visitor.url()).pathname, '/signup');
  const password = strongPassword();
  await visitor.getByLabel('Username').fill('erin');
  await visitor.getByLabel('Password', { exact: true }).fill(password);
  await visitor.getByLabel('Repeat the password').fill(`${password}x`);
  await visitor.getByRole('button', { name: 'Create account' }).click();
  await visitor.getByRole('alert').filter({ hasText: 'The two passwords differ' }).waitFor();
  await visitor.getByLabel('Repeat the password').fill(password);
  await visitor.getByRole('button', { name: 'Create account' }).click();
  await waitForView(visitor, 'shell');
  await sidebarOf(visitor).getByRole('button', { name: 'erin', exact: true }).waitFor();

  for (const page of [visitor, pa]) assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
