/**
 * vitest globalSetup: starts ONE Verdaccio (staging + 2FA) for the whole run and provides
 * `{ url, host, storage }` as `inject('verdaccio')`; test files use `sharedRegistry()` from ./verdaccio.ts
 * to get a TestRegistry whose createUser() works against it. Stopped at teardown.
 *
 * Skipped (provides null) when the run's files include nothing under test/e2e/, or when
 * STAGE_PUBLISH_TEST_REGISTRY=off.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startVerdaccio, type TestRegistry } from './verdaccio.js';

const SUPPORT_DIR = path.dirname(fileURLToPath(import.meta.url));
const E2E_DIR = path.join(path.dirname(SUPPORT_DIR), 'e2e') + path.sep;

async function runIncludesE2e(project: TestProject): Promise<boolean> {
  if (project.globalConfig.watch) return true; // filters can change later in watch mode
  try {
    // The CLI file filters (`vitest run test/unit`); internal in vitest 4, hence the defensive read.
    const pattern: unknown = (project.vitest as unknown as { filenamePattern?: unknown }).filenamePattern;
    const filters = Array.isArray(pattern) ? pattern.filter((f): f is string => typeof f === 'string') : [];
    const { testFiles } = await project.globTestFiles(filters);
    return testFiles.some((f) => path.resolve(f).startsWith(E2E_DIR));
  } catch {
    return true; // when in doubt, start it
  }
}

let registry: TestRegistry | null = null;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.STAGE_PUBLISH_TEST_REGISTRY === 'off' || !(await runIncludesE2e(project))) {
    project.provide('verdaccio', null);
    return async () => {};
  }
  // Installs Verdaccio (npm ci) only if it is missing; ~0.1 s otherwise.
  execFileSync(process.execPath, [path.join(SUPPORT_DIR, 'ensure-verdaccio.mjs')], { stdio: 'inherit', timeout: 10 * 60_000 });
  registry = await startVerdaccio();
  project.provide('verdaccio', { url: registry.url, host: registry.host, storage: registry.storage });
  return async () => {
    await registry?.stop();
    registry = null;
  };
}
