/**
 * A real npm registry for end-to-end tests: Verdaccio 9 with staging (`flags.stage`) and TOTP 2FA
 * (`flags.tfa`), running on its own Node 24 from test/support/verdaccio (the npm package `node@24`).
 *
 * The typed face of ./verdaccio-server.mjs, which holds the implementation as plain JavaScript so that
 * scripts/demo.mjs and bench/run.mjs can start the same registry without a build step. The interfaces
 * below are the contract that module's JSDoc refers to.
 *
 * - `startVerdaccio()` starts a private instance (free loopback port, fresh temp storage).
 * - `connectRegistry(url, storage)` talks to an already running one (e.g. the one global-setup.ts starts).
 * - `sharedRegistry()` is the shortcut for test files: the instance global-setup.ts provided.
 *
 * 2FA facts that shape `TestUser.otp()`: Verdaccio accepts a code of the previous, current or next 30 s
 * step, remembers the step of the last code it accepted, and refuses any code whose step is not newer
 * (a refusal counts as a failure; 5 failures lock the user out for 5 minutes).
 */
import * as server from './verdaccio-server.mjs';

export interface TestRegistry {
  /** `http://127.0.0.1:PORT/`, always ending with '/'. */
  url: string;
  /** `127.0.0.1:PORT`, as used in `//127.0.0.1:PORT/:_authToken=` lines. */
  host: string;
  /** Temp folder of this instance: config.yaml, htpasswd, verdaccio.log, owner.pid and data/ (Verdaccio's storage). */
  storage: string;
  /** Stops Verdaccio and deletes `storage`. A no-op for registries from `connectRegistry`. Idempotent. */
  stop(): Promise<void>;
  /** A brand-new user (unique name), by default enrolled in 2FA mode "auth-and-writes". */
  createUser(opts?: { tfa?: boolean }): Promise<TestUser>;
}

export interface TestUser {
  name: string;
  password: string;
  /** Bearer token for `Authorization: Bearer` / `//host/:_authToken`. */
  token: string;
  /** Base32 TOTP secret when enrolled in 2FA, otherwise null. */
  secret: string | null;
  /** The single-use recovery codes Verdaccio handed out at enrolment (each also works as an OTP). */
  recoveryCodes: string[];
  /**
   * A TOTP code Verdaccio will accept and that was never handed out before for this user. Two codes
   * are available at once after `createUser()`; after that one per 30 s window (this waits, up to 30 s).
   * Use codes in the order you got them: a code older than one already used is refused as a replay.
   * Rejects for users without 2FA.
   */
  otp(): Promise<string>;
  /**
   * Writes `dir/.npmrc` (creating dir) with `registry=<registryUrl>` and `//<host>/:_authToken=<token>`
   * for the host of `registryUrl` (default: the registry the user was created on). Returns its path.
   */
  writeNpmrc(dir: string, registryUrl?: string): Promise<string>;
}

/** What test/support/global-setup.ts provides to test files (see `sharedRegistry()`). */
export interface ProvidedRegistry {
  url: string;
  host: string;
  storage: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** null when the run was started with STAGE_PUBLISH_TEST_REGISTRY=off */
    verdaccio: ProvidedRegistry | null;
  }
}

/** Starts a private Verdaccio on a free loopback port (or `opts.port`), with fresh temp storage. */
export const startVerdaccio: (opts?: { port?: number }) => Promise<TestRegistry> = server.startVerdaccio;

/** A TestRegistry for a Verdaccio somebody else started (its stop() does nothing). */
export const connectRegistry: (url: string, storage: string) => Promise<TestRegistry> = server.connectRegistry;

/**
 * The Verdaccio that test/support/global-setup.ts started for this run (via vitest's provide/inject).
 * Only callable inside a vitest worker.
 */
export async function sharedRegistry(): Promise<TestRegistry> {
  const { inject } = await import('vitest');
  const provided = inject('verdaccio');
  if (!provided) {
    throw new Error('no shared Verdaccio: is test/support/global-setup.ts in vitest.config.ts globalSetup?');
  }
  return connectRegistry(provided.url, provided.storage);
}
