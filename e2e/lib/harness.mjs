// Browser test harness: builds the calls binary, starts real servers on
// 127.0.0.1 with fresh data directories, and drives Debian's chromium through
// playwright-core.
//
// Tests use the `test` exported here instead of node:test's: servers,
// browsers and pages started inside it are tracked, cleaned up afterwards,
// and on failure the harness prints each server's log and screenshots each
// open page into e2e/test-output/.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as nodeTest } from 'node:test';
import { chromium } from 'playwright-core';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..');
export const OUTPUT_DIR = path.join(E2E_DIR, 'test-output');

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
// The ready line, slog text format: level=INFO msg="calls is ready" url=http://127.0.0.1:43121
const READY_URL = /\burl="?(https?:\/\/127\.0\.0\.1:\d+)/;

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

// Children still running when the process exits are killed, so a crashed
// test run never leaves servers behind.
const running = new Set();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

// ---------- Binary ----------

let binaryPromise = null;

/**
 * buildBinary builds the server once per process with `go build` from the
 * repository root and resolves to its path. $CALLS_BIN, when set, is used
 * instead.
 */
export function buildBinary() {
  if (!binaryPromise) binaryPromise = build();
  return binaryPromise;
}

async function build() {
  if (process.env.CALLS_BIN) {
    const bin = path.resolve(process.env.CALLS_BIN);
    await fsp.access(bin, fs.constants.X_OK);
    return bin;
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'calls-e2e-bin-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'calls');
  try {
    await run('go', ['build', '-o', bin, '.'], { cwd: REPO_ROOT, timeout: 600_000 });
  } catch (err) {
    throw new Error(`go build failed in ${REPO_ROOT}:\n${err.stderr || err.message}`);
  }
  return bin;
}

function run(file, args, { cwd, input, timeout = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { cwd, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        err.stdout = stdout;
        err.stderr = stderr;
        reject(err);
      } else {
        resolve({ stdout, stderr });
      }
    });
    if (input !== undefined) {
      // A child that exits without reading stdin must not crash the runner with EPIPE.
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

// ---------- Server ----------

/**
 * startServer starts `calls serve` on 127.0.0.1:0 with a fresh data dir.
 *
 *   const server = await startServer({ users: [{ username: 'alice', password, admin: true }] });
 *   // server.url, server.dataDir, server.proc, server.log(), await server.stop()
 *
 * Each user is created beforehand with `calls user add`. args are extra
 * flags for `serve`. Resolves once the server logs its url=... line.
 */
export async function startServer({ users = [], args = [], env = {} } = {}) {
  const bin = await buildBinary();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'calls-e2e-data-'));
  for (const user of users) {
    const flags = ['user', 'add'];
    if (user.admin) flags.push('--admin');
    // Flags before the name: urfave/cli stops parsing flags at the first argument.
    flags.push('--password-stdin', '--data', dataDir, user.username);
    try {
      await run(bin, flags, { input: `${user.password}\n`, timeout: 30_000 });
    } catch (err) {
      throw new Error(`calls ${flags.join(' ')} failed:\n${err.stderr || err.message}`);
    }
  }
  const server = new Server({ bin, dataDir, args, env });
  track('servers', server);
  await server.start('127.0.0.1:0');
  return server;
}

/** Server is one `calls serve` process over a data dir; see startServer. */
class Server {
  constructor({ bin, dataDir, args, env }) {
    this.bin = bin;
    this.dataDir = dataDir;
    this.extraArgs = args;
    this.env = { ...process.env, ...env };
    this.url = '';
    this.proc = null;
    this.exited = null;
    this.keepData = false;
    this.output = '';
    this.waiters = new Set();
  }

  /** log returns everything the server printed so far (across restarts). */
  log() {
    return this.output;
  }

  async start(listen) {
    const args = ['serve', '--data', this.dataDir, '--insecure', '--listen', listen, '--rtc-port', '0', '--turn-port', '0', ...this.extraArgs];
    this.args = args;
    const proc = spawn(this.bin, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    running.add(proc);
    this.exited = once(proc, 'exit').then(([code, signal]) => {
      running.delete(proc);
      return { code, signal };
    });

    let pending = '';
    let resolveUrl;
    const urlFound = new Promise((resolve, reject) => {
      resolveUrl = resolve;
      this.exited.then(({ code, signal }) => reject(new Error(`calls serve exited (code ${code}, signal ${signal}) before it was ready`)));
    });
    const onData = (chunk) => {
      const text = chunk.toString('utf8');
      this.output += text;
      for (const w of this.waiters) w.check();
      pending += text;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const m = READY_URL.exec(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (m) resolveUrl(m[1]);
      }
    };
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);

    let timer;
    try {
      this.url = await Promise.race([
        urlFound,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`calls serve printed no url= line within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.keepData = true;
      await this.stop();
      throw new Error(`${err.message}\n--- server output (${args.join(' ')}) ---\n${this.output}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * waitForLog resolves to the first match of pattern in the server's
   * output, waiting for it to be printed if need be.
   */
  waitForLog(pattern, { timeout = 10_000 } = {}) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const m = pattern.exec(this.output);
          if (m) {
            this.waiters.delete(w);
            clearTimeout(w.timer);
            resolve(m);
          }
        },
      };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`server printed nothing matching ${pattern} within ${timeout} ms`));
      }, timeout);
      this.waiters.add(w);
      w.check();
    });
  }

  /** kill stops the process (SIGTERM, SIGKILL after 10 s) and resolves to {code, signal}. */
  async kill(signal = 'SIGTERM') {
    const proc = this.proc;
    if (!proc) return { code: null, signal: null };
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  /** restart stops the server and starts it again on the same address and data. */
  async restart({ downtimeMs = 0 } = {}) {
    const listen = new URL(this.url).host;
    await this.kill();
    if (downtimeMs) await new Promise((r) => setTimeout(r, downtimeMs));
    await this.start(listen);
  }

  /** stop sends SIGTERM, waits for the exit and removes the data dir (kept after a failure). */
  async stop() {
    const exit = await this.kill();
    if (!this.keepData) await fsp.rm(this.dataDir, { recursive: true, force: true });
    return exit;
  }
}

// ---------- Browser ----------

/**
 * launchBrowser starts headless chromium ($CHROMIUM or /usr/bin/chromium)
 * with fake media devices. Use newPage(browser) for a fresh context per user.
 *
 * Options for the failure paths of calls: fakeDevices: false leaves the
 * browser with no camera or microphone at all (headless Chromium has none
 * of its own); fakeUI: false stops granting media permissions on its own,
 * so getUserMedia is refused unless a context was granted them. args are
 * further Chromium flags.
 */
export async function launchBrowser({ fakeDevices = true, fakeUI = true, args = [] } = {}) {
  const flags = CHROMIUM_ARGS.filter((f) => (fakeDevices || f !== '--use-fake-device-for-media-stream')
    && (fakeUI || f !== '--use-fake-ui-for-media-stream'));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [...flags, ...args],
  });
  track('browsers', browser);
  return browser;
}

/**
 * newPage opens a page in a new browser context (its own cookies and
 * storage, as a separate user would have). page.problems collects uncaught
 * page errors and Content-Security-Policy violations.
 */
export async function newPage(browser, contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
  const page = await context.newPage();
  page.problems = [];
  page.consoleLog = [];
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = `${msg.type()}: ${msg.text()}`;
    page.consoleLog.push(text);
    if (/Content Security Policy/i.test(msg.text())) page.problems.push(`CSP: ${msg.text()}`);
  });
  track('pages', page);
  return page;
}

/**
 * login opens url, fills the login form and waits for the app shell.
 */
export async function login(page, url, username, password) {
  await page.goto(url);
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await waitForView(page, 'shell');
}

/** waitForView waits until the app shows a view: 'login', 'setup', 'shell' or 'error'. */
export async function waitForView(page, view, { timeout = 10_000 } = {}) {
  await page.locator(`#app[data-view="${view}"]`).waitFor({ state: 'attached', timeout });
}

/** screenshot saves a full-page PNG to e2e/test-output/<name>.png and returns its path. */
export async function screenshot(page, name) {
  await fsp.mkdir(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, `${safeName(name)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** strongPassword returns a random password that any sane policy accepts. */
export function strongPassword() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `Calls-${Buffer.from(bytes).toString('base64url')}-9z`;
}

// ---------- Test wrapper ----------

const scope = new AsyncLocalStorage();

function track(kind, item) {
  scope.getStore()?.[kind].push(item);
}

/**
 * test is node:test's test with cleanup and failure reports: everything
 * started through this harness inside fn is closed afterwards; if fn throws,
 * open pages are screenshotted to test-output/ and server logs are printed.
 */
export function test(name, options, fn) {
  if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  return nodeTest(name, { timeout: 180_000, ...options }, async (t) => {
    const resources = { servers: [], browsers: [], pages: [] };
    try {
      await scope.run(resources, () => fn(t));
    } catch (err) {
      await reportFailure(name, resources);
      throw err;
    } finally {
      await cleanup(resources);
    }
  });
}

async function reportFailure(name, { servers, pages }) {
  for (const [i, page] of pages.entries()) {
    if (page.isClosed()) continue;
    try {
      const file = await screenshot(page, `FAILED-${safeName(name).slice(0, 80)}-${i + 1}`);
      process.stderr.write(`\nscreenshot of page ${i + 1} (${page.url()}): ${file}\n`);
    } catch (err) {
      process.stderr.write(`\nscreenshot of page ${i + 1} failed: ${err.message}\n`);
    }
    if (page.consoleLog.length) {
      process.stderr.write(`--- console of page ${i + 1} ---\n${page.consoleLog.join('\n')}\n`);
    }
  }
  for (const [i, server] of servers.entries()) {
    server.keepData = true;
    process.stderr.write(`\n--- server ${i + 1} (${server.url || 'not ready'}, data ${server.dataDir}) log ---\n${server.log()}\n`);
  }
}

async function cleanup({ servers, browsers }) {
  const results = await Promise.allSettled([
    ...browsers.map((b) => b.close()),
    ...servers.map((s) => s.stop()),
  ]);
  for (const r of results) {
    if (r.status === 'rejected') process.stderr.write(`cleanup: ${r.reason}\n`);
  }
}

function safeName(name) {
  return name.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'page';
}
