/**
 * Proves the end-to-end test infrastructure is real: Verdaccio 9 enforces 2FA and staging, the proxy
 * counts and implements npm's web-based 2FA the way npm's own client code expects, and the pty helper
 * shows what a terminal user would see.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import Arborist from '@npmcli/arborist';
import libnpmpublish from 'libnpmpublish';
import npmProfile from 'npm-profile';
import npmFetch from 'npm-registry-fetch';
import pacote from 'pacote';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { runInPty } from '../support/pty.js';
import { startRegistryProxy, type RegistryProxy } from '../support/registry-proxy.js';
import { sharedRegistry, startVerdaccio, type TestRegistry, type TestUser } from '../support/verdaccio.js';

interface Manifest {
  name: string;
  version: string;
  [key: string]: unknown;
}
interface RegistryError extends Error {
  code?: string;
  statusCode?: number;
  headers?: Record<string, string[]>;
  body?: unknown;
}
type FlatOptions = Record<string, unknown>;

const publish = libnpmpublish.publish as (
  manifest: Manifest,
  tarball: Buffer,
  opts: FlatOptions,
) => Promise<{ status: number; stageId?: string }>;
const webAuthOpener = npmProfile.webAuthOpener as (
  opener: (url: string, opts: { signal: AbortSignal }) => Promise<void>,
  authUrl: string,
  doneUrl: string,
  opts: FlatOptions,
) => Promise<{ token: string }>;
const fetchJson = npmFetch.json as (uri: string, opts: FlatOptions) => Promise<Record<string, unknown>>;
const fetchRaw = npmFetch as unknown as (uri: string, opts: FlatOptions) => Promise<{ status: number; text(): Promise<string> }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let registry: TestRegistry;
let work: string;
let pkgCounter = 0;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  registry = await sharedRegistry();
  work = await mkdtemp(path.join(os.tmpdir(), 'registry-support-'));
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** npm-style flat options for `user` against `url` (default: Verdaccio itself). */
function flatOpts(user: TestUser, url: string = registry.url, extra: FlatOptions = {}): FlatOptions {
  const u = new URL(url);
  return { registry: url, [`//${u.host}${u.pathname}:_authToken`]: user.token, cache: path.join(work, 'cache'), preferOnline: true, ...extra };
}

/** A unique package name and a packed tarball of it (pacote + Arborist, like `npm pack`; no network). */
async function makePackage(
  version: string,
  name = `sp-e2e-${process.pid}-${Date.now().toString(36)}-${pkgCounter++}`,
  { extraBytes = 0 } = {},
) {
  const dir = await mkdtemp(path.join(work, 'pkg-'));
  const manifest: Manifest = { name, version, description: 'test package', main: 'index.js', license: 'MIT' };
  await writeFile(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  await writeFile(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify(version)};\n`);
  if (extraBytes > 0) await writeFile(path.join(dir, 'blob.bin'), randomBytes(extraBytes)); // incompressible
  const tarball = await pacote.tarball(`file:${dir}`, { Arborist, cache: path.join(work, 'cache') });
  return { name, manifest, tarball };
}

async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    return err as RegistryError;
  }
  throw new Error('expected the promise to reject');
}

async function packumentVersions(name: string, opts: FlatOptions): Promise<string[]> {
  try {
    const doc = await fetchJson(`/${encodeURIComponent(name)}`, opts);
    return Object.keys((doc.versions ?? {}));
  } catch (err) {
    if ((err as RegistryError).statusCode === 404) return [];
    throw err;
  }
}

async function useProxy(opts?: Parameters<typeof startRegistryProxy>[1]): Promise<RegistryProxy> {
  const proxy = await startRegistryProxy(registry, opts);
  cleanups.push(() => proxy.stop());
  return proxy;
}

describe('Verdaccio 9 with TOTP 2FA', () => {
  test('publishing needs an OTP; replays are refused; the version then appears in the packument', async () => {
    const user = await registry.createUser();
    expect(user.secret).toMatch(/^[A-Z2-7]+=*$/);
    expect(user.recoveryCodes).toHaveLength(10);
    const opts = flatOpts(user);
    const v1 = await makePackage('1.0.0');

    const noOtp = await rejection(publish(v1.manifest, v1.tarball, opts));
    expect(noOtp.code).toBe('EOTP');
    expect(noOtp.statusCode).toBe(401);
    expect(noOtp.headers?.['www-authenticate']).toEqual(['otp']);
    expect(JSON.stringify(noOtp.body)).toMatch(/one-time pass/);

    const code = await user.otp();
    expect(code).toMatch(/^\d{6}$/);
    const ok = await publish(v1.manifest, v1.tarball, { ...opts, otp: code });
    expect(ok.status).toBe(201);
    expect(await packumentVersions(v1.name, opts)).toEqual(['1.0.0']);

    // The same code again: Verdaccio refuses it as a replay (and counts a failure).
    const v2 = await makePackage('1.0.1', v1.name);
    const replay = await rejection(publish(v2.manifest, v2.tarball, { ...opts, otp: code }));
    expect(replay.code).toBe('EOTP');

    const code2 = await user.otp();
    expect(code2).not.toBe(code);
    await publish(v2.manifest, v2.tarball, { ...opts, otp: code2 });
    const doc = await fetchJson(`/${v1.name}`, opts);
    expect(Object.keys(doc.versions as object).sort()).toEqual(['1.0.0', '1.0.1']);
    expect(doc['dist-tags']).toEqual({ latest: '1.0.1' });
  });

  test('a user without 2FA publishes without an OTP', async () => {
    const user = await registry.createUser({ tfa: false });
    expect(user.secret).toBeNull();
    await expect(user.otp()).rejects.toThrow(/no 2FA/);
    const { manifest, tarball, name } = await makePackage('0.1.0');
    await publish(manifest, tarball, flatOpts(user));
    expect(await packumentVersions(name, flatOpts(user))).toEqual(['0.1.0']);
  });

  test('writeNpmrc writes a registry line and an auth line for the host', async () => {
    const user = await registry.createUser({ tfa: false });
    const file = await user.writeNpmrc(path.join(work, 'npmrc-dir'));
    const text = await readFile(file, 'utf8');
    expect(text).toBe(`registry=${registry.url}\n//${registry.host}/:_authToken=${user.token}\n`);
  });
});

describe('Verdaccio 9 staging', () => {
  test('stage → invisible → list/view → approve with OTP → published; reject with OTP', async () => {
    const user = await registry.createUser();
    const opts = flatOpts(user);
    const v1 = await makePackage('1.0.0');

    const staged = await publish(v1.manifest, v1.tarball, { ...opts, stage: true }); // no OTP needed
    expect(staged.status).toBe(201);
    expect(staged.stageId).toMatch(UUID);
    expect(await packumentVersions(v1.name, opts)).toEqual([]);

    // Staging the same version twice: 409.
    const again = await rejection(publish(v1.manifest, v1.tarball, { ...opts, stage: true }));
    expect(again.statusCode).toBe(409);

    const list = await fetchJson(`/-/stage?package=${encodeURIComponent(v1.name)}&page=0&perPage=100`, opts);
    expect(list).toMatchObject({ page: 0, perPage: 100, total: 1 });
    const view = await fetchJson(`/-/stage/${staged.stageId}`, opts);
    expect(view).toMatchObject({ id: staged.stageId, packageName: v1.name, version: '1.0.0', tag: 'latest', actor: user.name });
    expect((list.items as unknown[])[0]).toEqual(view);

    const approvePath = `/-/stage/${staged.stageId}/approve`;
    const noOtp = await rejection(fetchRaw(approvePath, { ...opts, method: 'POST' }));
    expect(noOtp.code).toBe('EOTP');
    const approved = await fetchRaw(approvePath, { ...opts, method: 'POST', otp: await user.otp() });
    expect(approved.status).toBe(201);
    expect(JSON.parse(await approved.text())).toHaveProperty('message');
    expect(await packumentVersions(v1.name, opts)).toEqual(['1.0.0']);
    const gone = await rejection(fetchJson(`/-/stage/${staged.stageId}`, opts));
    expect(gone.statusCode).toBe(404);

    const v2 = await makePackage('1.0.1', v1.name);
    const staged2 = await publish(v2.manifest, v2.tarball, { ...opts, stage: true });
    const rejected = await fetchRaw(`/-/stage/${staged2.stageId}`, { ...opts, method: 'DELETE', otp: await user.otp() });
    expect(rejected.status).toBe(204);
    expect(await packumentVersions(v1.name, opts)).toEqual(['1.0.0']);
  });
});

describe('registry proxy', () => {
  test('forwards everything and counts the publish PUTs that reached the registry', async () => {
    const proxy = await useProxy();
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const user = await registry.createUser();
    const opts = flatOpts(user, proxy.url);
    const { name, manifest, tarball } = await makePackage('2.0.0');

    expect((await rejection(publish(manifest, tarball, opts))).code).toBe('EOTP');
    await publish(manifest, tarball, { ...opts, otp: await user.otp() });
    expect(await packumentVersions(name, opts)).toEqual(['2.0.0']);

    const puts = proxy.requests.filter((r) => r.method === 'PUT' && r.path === `/${name}`);
    expect(puts.map((r) => [r.status, r.otp])).toEqual([
      [401, false],
      [201, true],
    ]);
    expect(proxy.requests.some((r) => r.method === 'GET' && r.path === `/${name}`)).toBe(true);

    // Tarball URLs in the packument point at the proxy (Host is passed through), and download through it.
    const doc = await fetchJson(`/${name}`, opts);
    const dist = (doc.versions as Record<string, { dist: { tarball: string } }>)['2.0.0']!.dist;
    expect(dist.tarball.startsWith(proxy.url)).toBe(true);
    const downloaded = await pacote.tarball(`${name}@2.0.0`, { ...opts, Arborist });
    expect(downloaded.equals(tarball)).toBe(true);
  });

  test('web-based 2FA: 401 with authUrl/doneUrl, npm-profile polls doneUrl, the token publishes once', async () => {
    const user = await registry.createUser();
    const proxy = await useProxy({ webAuth: { user } });
    const opts = flatOpts(user, proxy.url);
    const { name, manifest, tarball } = await makePackage('3.0.0');

    const challenge = await rejection(publish(manifest, tarball, opts));
    expect(challenge.code).toBe('EOTP');
    expect(challenge.statusCode).toBe(401);
    const body = challenge.body as { error: string; authUrl: string; doneUrl: string };
    expect(body.error).toMatch(/one-time password required/);
    expect(body.authUrl).toMatch(new RegExp(`^${proxy.url}-/test-web-auth/[0-9a-f-]{36}$`));
    expect(body.doneUrl).toBe(`${body.authUrl}/done`);
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toEqual([]); // never reached Verdaccio
    expect(await proxy.waitForWebAuth({ timeoutMs: 1000 })).toBe(body.authUrl);

    // Before the "human" acts, doneUrl says 202 + Retry-After.
    const early = await fetch(body.doneUrl);
    expect(early.status).toBe(202);
    expect(early.headers.get('retry-after')).toBe('1');
    await early.arrayBuffer();

    // npm's own client code: open authUrl (here: the human approves 300 ms later), poll doneUrl.
    const started = Date.now();
    const opened: string[] = [];
    const { token } = await webAuthOpener(
      async (url) => {
        opened.push(url);
        setTimeout(() => proxy.completeWebAuth(url), 300);
      },
      body.authUrl,
      body.doneUrl,
      opts,
    );
    expect(opened).toEqual([body.authUrl]);
    expect(token).toEqual(expect.any(String));
    expect(Date.now() - started).toBeLessThan(10_000);

    const ok = await publish(manifest, tarball, { ...opts, otp: token });
    expect(ok.status).toBe(201);
    expect(await packumentVersions(name, opts)).toEqual(['3.0.0']);
    const puts = proxy.requests.filter((r) => r.method === 'PUT' && r.path === `/${name}`);
    expect(puts.map((r) => [r.status, r.otp])).toEqual([[201, true]]);

    // A token is single-use.
    const next = await makePackage('3.0.1', name);
    const reused = await rejection(publish(next.manifest, next.tarball, { ...opts, otp: token }));
    expect(reused.code).toBe('EOTP');
    expect((reused.body as { authUrl?: string }).authUrl).toMatch(/test-web-auth/);

    // Approving a staged version goes through web auth as well; staging itself does not.
    const staged = await publish(next.manifest, next.tarball, { ...opts, stage: true });
    expect(staged.stageId).toMatch(UUID);
    const approvePath = `/-/stage/${staged.stageId}/approve`;
    const approveChallenge = await rejection(fetchRaw(approvePath, { ...opts, method: 'POST' }));
    const approveBody = approveChallenge.body as { authUrl: string; doneUrl: string };
    const click = await fetch(approveBody.authUrl); // the human opens the page
    expect(click.status).toBe(200);
    await click.arrayBuffer();
    const done = await fetchJson(approveBody.doneUrl, opts);
    const approved = await fetchRaw(approvePath, { ...opts, method: 'POST', otp: done.token });
    expect(approved.status).toBe(201);
    expect((await packumentVersions(name, opts)).sort()).toEqual(['3.0.0', '3.0.1']);
  });

  test('streams big publishes, also when the body has to wait for a TOTP code', async () => {
    const user = await registry.createUser();
    // otp() can wait up to 30 s for a fresh window; make it slow here to prove the body waits intact.
    const slowUser: TestUser = { ...user, otp: async () => (await sleep(1500), user.otp()) };
    const proxy = await useProxy({ webAuth: { user: slowUser, autoCompleteAfterMs: 0 } });
    const opts = flatOpts(user, proxy.url);
    const { name, manifest, tarball } = await makePackage('1.0.0', undefined, { extraBytes: 6 * 1024 * 1024 });
    expect(tarball.length).toBeGreaterThan(6 * 1024 * 1024);
    const first = await rejection(publish(manifest, tarball, opts));
    const { authUrl, doneUrl } = first.body as { authUrl: string; doneUrl: string };
    const { token } = await webAuthOpener(async () => {}, authUrl, doneUrl, opts);
    expect((await publish(manifest, tarball, { ...opts, otp: token })).status).toBe(201);
    const downloaded = await pacote.tarball(`${name}@1.0.0`, { ...opts, Arborist });
    expect(downloaded.equals(tarball)).toBe(true);
  });

  test('web-auth sessions can complete on their own (autoCompleteAfterMs)', async () => {
    const user = await registry.createUser();
    const proxy = await useProxy({ webAuth: { user, autoCompleteAfterMs: 200 } });
    const { manifest, tarball } = await makePackage('1.0.0');
    const opts = flatOpts(user, proxy.url);
    const challenge = await rejection(publish(manifest, tarball, opts));
    const { authUrl, doneUrl } = challenge.body as { authUrl: string; doneUrl: string };
    const { token } = await webAuthOpener(async () => {}, authUrl, doneUrl, opts);
    expect((await publish(manifest, tarball, { ...opts, otp: token })).status).toBe(201);
    expect(() => proxy.completeWebAuth('00000000-0000-0000-0000-000000000000')).toThrow(/no web-auth session/);
  });
});

describe('startVerdaccio', () => {
  test('a startup failure is reported with the log tail', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as AddressInfo;
      const err = await rejection(startVerdaccio({ port }));
      expect(err.message).toMatch(/Verdaccio (exited|did not answer)/);
      expect(err.message).toMatch(/EADDRINUSE|address already in use/);
    } finally {
      blocker.close();
    }
  });
});

describe('pty helper', () => {
  test('answers a no-echo prompt; the typed secret is not in the transcript', async () => {
    const secret = 'hunter2-do-not-echo';
    const res = await runInPty(
      'python3',
      ['-c', "import getpass, sys; print('tty', sys.stdin.isatty(), sys.stdout.isatty()); print('got', len(getpass.getpass('Secret: ')))"],
      { steps: [{ waitFor: 'Secret: ', send: secret }], timeoutMs: 10_000 },
    );
    expect(res.exitCode).toBe(0);
    expect(res.text).toContain('tty True True');
    expect(res.text).toContain(`Secret: \ngot ${secret.length}`);
    expect(res.output).not.toContain(secret);
  });

  test('echoed input shows up; several prompts in order; exit code is passed through', async () => {
    const script = "a = input('First? '); b = input('First? '); print('answers', a, b); raise SystemExit(3)";
    const res = await runInPty('python3', ['-c', script], {
      steps: [
        { waitFor: 'First? ', send: 'one' },
        { waitFor: /First\? $/, send: 'two' },
      ],
      timeoutMs: 10_000,
    });
    expect(res.exitCode).toBe(3);
    expect(res.text).toContain('First? one\nFirst? two\nanswers one two');
  });

  test('times out with the transcript in the error', async () => {
    const err = await rejection(
      runInPty('python3', ['-c', "print('hello from the child', flush=True); import time; time.sleep(60)"], {
        steps: [{ waitFor: 'never printed', send: 'x' }],
        timeoutMs: 1_500,
      }),
    );
    expect(err.message).toMatch(/timed out after 1500 ms while waiting for step 1\/1/);
    expect(err.message).toContain('hello from the child');
  });

  test('reports a command that exits before its prompt', async () => {
    const err = await rejection(runInPty('sh', ['-c', 'echo bye; exit 2'], { steps: [{ waitFor: 'Password:', send: 'x' }] }));
    expect(err.message).toMatch(/exited \(code 2\) before all prompts appeared/);
    expect(err.message).toContain('bye');
  });
});
