#!/usr/bin/env node
// Makes sure the test registry (Verdaccio 9 + its own Node 24, see test/support/verdaccio/package.json)
// is installed. Idempotent and cheap when it already is: a few file checks and one `node --version`.
// Used by the `pretest` script, by .ci/run and by test/support/global-setup.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'verdaccio');
const nodeBin = path.join(dir, 'node_modules', '.bin', 'node');
const entry = path.join(dir, 'node_modules', 'verdaccio', 'bin', 'verdaccio');

/** @returns {string | null} why the installation is unusable, or null when it is fine */
function problem() {
  if (!existsSync(path.join(dir, 'node_modules', 'verdaccio', 'package.json'))) return 'verdaccio is not installed';
  if (!existsSync(entry)) return `${path.relative(process.cwd(), entry)} is missing`;
  if (!existsSync(nodeBin)) return 'its Node binary (node_modules/.bin/node) is missing';
  const res = spawnSync(nodeBin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (res.error) return `its Node binary does not run (${res.error.message})`;
  const major = Number(/^v(\d+)\./.exec(res.stdout.trim())?.[1] ?? 0);
  if (res.status !== 0 || major < 24) return `its Node binary reports ${JSON.stringify(res.stdout.trim())}, need >= 24`;
  return null;
}

function fail(message) {
  console.error(`ensure-verdaccio: ${message}`);
  process.exit(1);
}

if (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'package-lock.json'))) {
  fail(`${dir} must contain package.json and package-lock.json`);
}

const before = problem();
if (before !== null) {
  console.log(`ensure-verdaccio: ${before}; running \`npm ci --no-audit --no-fund\` in ${path.relative(process.cwd(), dir) || dir} (about 15 s)`);
  // npm_execpath is set when this runs from an npm script; otherwise find npm on PATH.
  const npmCli = process.env.npm_execpath;
  const [cmd, args] = npmCli && /npm-cli\.js$/.test(npmCli)
    ? [process.execPath, [npmCli, 'ci', '--no-audit', '--no-fund', '--loglevel=error']]
    : ['npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']];
  const res = spawnSync(cmd, args, {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 10 * 60_000,
  });
  if (res.error) fail(`could not run npm ci: ${res.error.message}`);
  if (res.status !== 0) fail(`npm ci failed with exit code ${res.status ?? `signal ${res.signal}`}`);
  const after = problem();
  if (after !== null) fail(`still unusable after npm ci: ${after}`);
}
