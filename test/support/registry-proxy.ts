/**
 * A small HTTP proxy in front of a TestRegistry (node:http only), for two things:
 *
 * 1. Counting: every request it forwards is recorded in `requests` ({ method, path, ... }), so a test can
 *    count e.g. how many publish PUTs reached the registry.
 * 2. npm's web-based 2FA, which Verdaccio lacks (`webAuth: { user }`): publish/unpublish writes
 *    (`PUT`/`DELETE` outside `/-/`), `POST /-/stage/<id>/approve` and `DELETE /-/stage/<id>` need an
 *    `npm-otp` header holding a token this proxy issued; otherwise the proxy answers
 *      401, `www-authenticate: OTP`,
 *      { "error": "Web authentication (one-time password) required", "authUrl": "<proxy>/-/test-web-auth/<id>",
 *        "doneUrl": "<proxy>/-/test-web-auth/<id>/done" }
 *    which npm-registry-fetch turns into an EOTP error whose `body` has authUrl/doneUrl (what npm's
 *    otplease and npm-profile's webAuthOpener consume). `GET doneUrl` answers 202 + `Retry-After: 1`
 *    (body `{}`) until the session is completed — by `completeWebAuth()`, by a `GET authUrl` (the human
 *    clicking), or automatically with `autoCompleteAfterMs` — then 200 `{ "token": "<random>" }`.
 *    A request carrying that token (single use) is forwarded with `npm-otp` replaced by a fresh TOTP
 *    code from `user.otp()`.
 * 3. A registry that accepts a one-time password again while it is valid, as the public registry does
 *    (`otpWindow: { user }`; Verdaccio refuses a replayed code): a write whose `npm-otp` the registry
 *    already accepted through this proxy within `windowMs` is forwarded with one of the user's unused
 *    recovery codes instead (Verdaccio takes those as OTPs, and they do not move its replay guard).
 *    `requests[i].otpReused` marks those writes.
 * 4. Refusing writes on demand (`refuse`): a function of (method, path) that returns a status and an
 *    error message makes the proxy answer that instead of forwarding; set `proxy.refuse` to change it.
 *    With `body`, that JSON is the answer instead of `{ error }` (a route the registry lacks, e.g.).
 * 5. A registry whose staging API shows the document it holds (`showStagedDocuments`): the body of each
 *    `POST /-/stage/package/<name>` (without its attachments) is kept by the stage id the registry
 *    answered, and added as `packument` to `GET /-/stage/<id>` answers (Verdaccio keeps it but does not show it).
 * 6. A slow registry (`delayAnswer`): a function of (method, path) that returns milliseconds; the request
 *    is forwarded at once (the registry acts on it) and its answer reaches the client that much later.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestRegistry, TestUser } from './verdaccio.js';

export interface ProxiedRequest {
  method: string;
  /** Path and query as received, e.g. `/@scope%2fpkg` or `/-/stage?page=0`. */
  path: string;
  /** Whether an `npm-otp` header was forwarded (a client's own, or one swapped in for a web-auth token). */
  otp: boolean;
  /** Registry's status code, set once the response headers arrived (undefined before, or on proxy errors). */
  status?: number;
  /** otpWindow: the client's code had been accepted before, and was swapped for a recovery code. */
  otpReused?: boolean;
  /** The proxy answered this request itself (`refuse`); it did not reach the registry. */
  refused?: boolean;
}

export type RefuseFn = (method: string, path: string) => { status: number; error: string; body?: unknown } | undefined;

export interface RegistryProxyOptions {
  webAuth?: {
    user: TestUser;
    /** Complete every web-auth session automatically this many ms after it was issued. */
    autoCompleteAfterMs?: number;
  };
  /** Emulate a registry that accepts a code again while it is valid (see 3. above). */
  otpWindow?: {
    user: TestUser;
    /** How long an accepted code stays usable. Default 30 000 ms. */
    windowMs?: number;
  };
  /** Answer some writes with an error instead of forwarding them (see 4. above). */
  refuse?: RefuseFn;
  /** Show each staged item's document in `GET /-/stage/<id>` (see 5. above). */
  showStagedDocuments?: boolean;
  /** Hold the registry's answer to some requests this many ms (see 6. above). */
  delayAnswer?: (method: string, path: string) => number | undefined;
}

export interface RegistryProxy {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Every request forwarded to the registry, in arrival order. Web-auth routes and 401 challenges the proxy answers itself are not included. */
  readonly requests: ProxiedRequest[];
  /** The 401 web-auth challenges the proxy answered itself (not forwarded). */
  readonly challenges: Array<{ method: string; path: string; authUrl: string }>;
  /** Play the human approving a web-auth session; accepts the authUrl, the doneUrl or the bare id. */
  completeWebAuth(authUrlOrId: string): void;
  /** Resolves with the authUrl of the oldest web-auth session not completed yet (waits for one to be issued). */
  waitForWebAuth(opts?: { timeoutMs?: number }): Promise<string>;
  /** Which requests to refuse from now on (undefined: forward everything). */
  refuse: RefuseFn | undefined;
  /** Closes the proxy and all its connections. Idempotent. */
  stop(): Promise<void>;
}

interface WebAuthSession {
  id: string;
  authUrl: string;
  done: boolean;
  token: string;
  timer?: NodeJS.Timeout;
}

const UPSTREAM_TIMEOUT_MS = 120_000;
const WEB_AUTH_PREFIX = '/-/test-web-auth/';
// RFC 7230 hop-by-hop headers, which a proxy must not forward.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

function forwardableHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(key.toLowerCase())) out[key] = value;
  }
  return out;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Routes that need a web-auth token when `webAuth` is on. */
function needsWebAuth(method: string, pathname: string): boolean {
  if (!pathname.startsWith('/-/')) return method === 'PUT' || method === 'DELETE';
  if (method === 'POST' && /^\/-\/stage\/[^/]+\/approve\/?$/.test(pathname)) return true;
  if (method === 'DELETE' && /^\/-\/stage\/[^/]+\/?$/.test(pathname)) return true;
  return false;
}

function drain(req: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) {
      resolve();
      return;
    }
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.resume();
  });
}

export async function startRegistryProxy(target: TestRegistry, opts: RegistryProxyOptions = {}): Promise<RegistryProxy> {
  const upstream = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const requests: ProxiedRequest[] = [];
  const challenges: Array<{ method: string; path: string; authUrl: string }> = [];
  const sessions = new Map<string, WebAuthSession>();
  const issuedTokens = new Map<string, 'unused' | 'used'>();
  const sessionWaiters = new Set<() => void>();
  let baseUrl = '';

  const newSession = (): WebAuthSession => {
    const id = randomUUID();
    const session: WebAuthSession = {
      id,
      authUrl: `${baseUrl}${WEB_AUTH_PREFIX.slice(1)}${id}`,
      done: false,
      token: randomBytes(24).toString('base64url'),
    };
    sessions.set(id, session);
    const after = opts.webAuth?.autoCompleteAfterMs;
    if (after !== undefined) {
      session.timer = setTimeout(() => complete(session), after);
      session.timer.unref();
    }
    for (const wake of [...sessionWaiters]) wake();
    return session;
  };

  const complete = (session: WebAuthSession): void => {
    if (session.timer) clearTimeout(session.timer);
    if (session.done) return;
    session.done = true;
    issuedTokens.set(session.token, 'unused');
  };

  const findSession = (authUrlOrId: string): WebAuthSession | undefined => {
    const m = /(?:^|\/-\/test-web-auth\/)([0-9a-f-]{36})(?:\/done)?\/?$/i.exec(authUrlOrId.trim());
    return m?.[1] ? sessions.get(m[1].toLowerCase()) : undefined;
  };

  const handleWebAuthRoute = (req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void => {
    const rest = pathname.slice(WEB_AUTH_PREFIX.length);
    const [id = '', action] = rest.split('/');
    const session = sessions.get(id);
    if (!session || (action !== undefined && action !== 'done' && action !== '')) {
      sendJson(res, 404, { error: 'unknown web authentication session' });
      return;
    }
    if (req.method !== 'GET') {
      sendJson(res, 405, { error: 'method not allowed' });
      return;
    }
    if (action === 'done') {
      if (session.done) sendJson(res, 200, { token: session.token });
      else sendJson(res, 202, {}, { 'retry-after': '1' });
      return;
    }
    // GET authUrl: the human opened the page and approved.
    complete(session);
    const html = '<!doctype html><title>Authenticated</title><p>Authentication complete. You can close this page.</p>';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
    res.end(html);
  };

  // otpWindow: codes the registry accepted through this proxy, and when.
  const acceptedCodes = new Map<string, number>();
  const unusedRecoveryCodes = [...(opts.otpWindow?.user.recoveryCodes ?? [])];

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    headers: http.OutgoingHttpHeaders,
    extra: Partial<ProxiedRequest> = {},
    onStatus?: (status: number) => void,
  ): void => {
    const record: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', otp: headers['npm-otp'] !== undefined, ...extra };
    requests.push(record);
    const upReq = http.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    upReq.setTimeout(UPSTREAM_TIMEOUT_MS, () => upReq.destroy(new Error(`no answer from the registry within ${UPSTREAM_TIMEOUT_MS} ms`)));
    upReq.on('response', (upRes) => {
      record.status = upRes.statusCode;
      onStatus?.(upRes.statusCode ?? 0);
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, forwardableHeaders(upRes.headers));
        upRes.pipe(res);
      };
      upRes.on('error', () => res.destroy());
      const delay = opts.delayAnswer?.(record.method, record.path);
      if (delay) {
        upRes.pause();
        setTimeout(answer, delay).unref();
      } else answer();
    });
    upReq.on('error', (err) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 502, { error: `proxy: registry request failed: ${err.message}` });
    });
    req.on('error', () => upReq.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });
    req.pipe(upReq);
  };

  // showStagedDocuments: the document each staged item was sent with, by stage id.
  const stagedDocuments = new Map<string, unknown>();
  const readAll = async (stream: http.IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  /** Forwards a request with a known body and lets `rewrite` change the registry's JSON answer. */
  const forwardRewriting = async (req: http.IncomingMessage, res: http.ServerResponse, headers: http.OutgoingHttpHeaders, body: Buffer, rewrite: (status: number, answer: Buffer) => Buffer): Promise<void> => {
    const record: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', otp: headers['npm-otp'] !== undefined };
    requests.push(record);
    const upRes = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const upReq = http.request({ protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...headers, 'content-length': body.length }, agent });
      upReq.on('response', resolve);
      upReq.on('error', reject);
      upReq.end(body);
    });
    record.status = upRes.statusCode;
    const answer = rewrite(upRes.statusCode ?? 502, await readAll(upRes));
    const out = forwardableHeaders(upRes.headers);
    delete out['content-length'];
    res.writeHead(upRes.statusCode ?? 502, { ...out, 'content-length': answer.length });
    res.end(answer);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const pathname = new URL(req.url ?? '/', 'http://proxy.invalid').pathname;
    if (opts.showStagedDocuments && method === 'POST' && pathname.startsWith('/-/stage/package/')) {
      const body = await readAll(req);
      await forwardRewriting(req, res, forwardableHeaders(req.headers), body, (status, answer) => {
        if (status === 201) {
          const { _attachments: _omitted, ...document } = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
          stagedDocuments.set(String((JSON.parse(answer.toString('utf8')) as { stageId?: unknown }).stageId), document);
        }
        return answer;
      });
      return;
    }
    const itemId = /^\/-\/stage\/([0-9a-f-]{36})\/?$/.exec(pathname)?.[1];
    if (opts.showStagedDocuments && method === 'GET' && itemId && stagedDocuments.has(itemId)) {
      await forwardRewriting(req, res, forwardableHeaders(req.headers), await readAll(req), (status, answer) =>
        status === 200 ? Buffer.from(JSON.stringify({ ...(JSON.parse(answer.toString('utf8')) as object), packument: stagedDocuments.get(itemId) })) : answer,
      );
      return;
    }
    if (pathname.startsWith(WEB_AUTH_PREFIX)) {
      await drain(req);
      handleWebAuthRoute(req, res, pathname);
      return;
    }
    const headers = forwardableHeaders(req.headers);
    const refusal = proxy.refuse?.(method, req.url ?? '/');
    if (refusal) {
      await drain(req);
      requests.push({ method, path: req.url ?? '/', otp: req.headers['npm-otp'] !== undefined, status: refusal.status, refused: true });
      sendJson(res, refusal.status, refusal.body ?? { error: refusal.error });
      return;
    }
    const window = opts.otpWindow;
    if (window && needsWebAuth(method, pathname) && typeof req.headers['npm-otp'] === 'string') {
      const code = req.headers['npm-otp'].trim();
      const acceptedAt = acceptedCodes.get(code);
      if (acceptedAt !== undefined && Date.now() - acceptedAt <= (window.windowMs ?? 30_000)) {
        const recovery = unusedRecoveryCodes.shift();
        if (!recovery) throw new Error('otpWindow: the user has no recovery codes left');
        headers['npm-otp'] = recovery;
        forward(req, res, headers, { otpReused: true });
        return;
      }
      forward(req, res, headers, {}, (status) => {
        if (status >= 200 && status < 300 && !acceptedCodes.has(code)) acceptedCodes.set(code, Date.now());
      });
      return;
    }
    const webAuth = opts.webAuth;
    if (webAuth && needsWebAuth(method, pathname)) {
      const presented = req.headers['npm-otp'];
      const token = typeof presented === 'string' ? presented.trim() : undefined;
      if (token === undefined || issuedTokens.get(token) !== 'unused') {
        // Read the whole body before answering so the client sees the 401, not a reset upload.
        await drain(req);
        const session = newSession();
        challenges.push({ method, path: req.url ?? '/', authUrl: session.authUrl });
        sendJson(
          res,
          401,
          {
            error: 'This operation requires web authentication (open authUrl): one-time password required',
            authUrl: session.authUrl,
            doneUrl: `${session.authUrl}/done`,
          },
          { 'www-authenticate': 'OTP', 'npm-notice': 'Open the authUrl to authenticate this operation.' },
        );
        return;
      }
      issuedTokens.set(token, 'used');
      req.pause(); // the body waits (buffered) while we get a code; otp() may wait for the next window
      headers['npm-otp'] = await webAuth.user.otp();
    }
    forward(req, res, headers);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: `proxy: ${err instanceof Error ? err.message : String(err)}` });
    });
  });
  server.requestTimeout = UPSTREAM_TIMEOUT_MS;
  server.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/`;

  let stopping: Promise<void> | null = null;
  const proxy: RegistryProxy = {
    refuse: opts.refuse,
    url: baseUrl,
    host: `127.0.0.1:${port}`,
    requests,
    challenges,
    completeWebAuth(authUrlOrId: string) {
      const session = findSession(authUrlOrId);
      if (!session) throw new Error(`completeWebAuth: no web-auth session matches ${JSON.stringify(authUrlOrId)}`);
      complete(session);
    },
    waitForWebAuth({ timeoutMs = 30_000 } = {}) {
      return new Promise<string>((resolve, reject) => {
        const check = (): boolean => {
          const pending = [...sessions.values()].find((s) => !s.done);
          if (!pending) return false;
          cleanup();
          resolve(pending.authUrl);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`waitForWebAuth: no web-auth challenge within ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = (): void => void check();
        const cleanup = (): void => {
          clearTimeout(timer);
          sessionWaiters.delete(wake);
        };
        sessionWaiters.add(wake);
        check();
      });
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const s of sessions.values()) if (s.timer) clearTimeout(s.timer);
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return stopping;
    },
  };
  return proxy;
}
