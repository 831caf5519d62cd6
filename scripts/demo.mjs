#!/usr/bin/env node
/**
 * The whole stage-publish loop in a few seconds, with the real output of the real CLI:
 * stage → not installable → list → view → approve with a one-time password → published, same integrity.
 *
 *   npm run demo                     (builds, then runs this)
 *   node scripts/demo.mjs [--no-pty]
 *
 * Needs no account and no setup: it installs the test registry if it is missing (Verdaccio 9 with
 * staging and TOTP 2FA, test/support/ensure-verdaccio.mjs), starts a throwaway one on a free loopback
 * port, and creates a maintainer enrolled in 2FA whose authenticator app the demo plays (otplib, with the
 * secret from the enrolment). Everything lives in temp folders with its own HOME, npm user/global config,
 * npm cache and staging directory, so your own npm configuration and staged releases are never touched.
 * Everything is stopped and removed at the end, also on failure and on Ctrl-C.
 *
 * The approval answers the CLI's real prompts through a pseudo-terminal (python3's pty module, as
 * the tests do, test/support/pty-relay.mjs); without python3, or with --no-pty, it passes `--yes --otp <code>` and says so.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runInPty as runInTerminal, stripAnsi } from '../test/support/pty-relay.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'stage-publish.js')
const ENSURE_VERDACCIO = path.join(ROOT, 'test', 'support', 'ensure-verdaccio.mjs')
const PKG_NAME = 'hello-stage-publish'
const PKG_VERSION = '1.0.0'

const { values: flags } = parseArgs({ options: { 'no-pty': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } })
if (flags.help) {
  console.log('usage: node scripts/demo.mjs [--no-pty]   (or: npm run demo, which builds first)')
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------------
// Printing

const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
const paint = (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text)
const bold = (t) => paint('1', t)
const dim = (t) => paint('2', t)
const green = (t) => paint('32', t)
const cyan = (t) => paint('36', t)
// A closed pipe (`| head`) must not skip the cleanup.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)
// Once interrupted, the demo says nothing more: the signal handler reports and cleans up.
let interrupted = false
const say = (text = '') => {
  if (!interrupted) process.stdout.write(`${text}\n`)
}

let stepNo = 0
const STEPS = 6
function header(title, ...explanation) {
  say()
  say(bold(cyan(`━━ ${++stepNo}/${STEPS}  ${title} ━━`)))
  for (const line of explanation) say(dim(line))
}
/** The command line as the reader would type it, then its output, indented. */
function showRun(display, { code, output }) {
  say(bold(`$ ${display}`))
  const text = output.replace(/\s+$/, '')
  if (text) say(text.split('\n').map((l) => `  ${l}`).join('\n'))
  if (code !== 0) say(dim(`  (exit code ${code})`))
}

class DemoError extends Error {
  /** @param {string} message @param {string} [output] what the failing command printed */
  constructor(message, output) {
    super(message)
    this.output = output
  }
}

// ---------------------------------------------------------------------------------------------------
// Cleanup: on success, failure, Ctrl-C or kill, stop everything we started and remove every temp folder.

/** @type {Array<() => Promise<unknown> | unknown>} run last-in first-out */
const cleanups = []
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set()
let cleaning = null
function cleanup() {
  cleaning ??= (async () => {
    // Commands still running (a Ctrl-C reaches them too): make sure they are gone before their folders.
    await Promise.all(
      [...children].map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined
        const gone = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        const force = setTimeout(() => child.kill('SIGKILL'), 2_000)
        return gone.finally(() => clearTimeout(force))
      }),
    )
    while (cleanups.length) {
      const fn = cleanups.pop()
      try {
        await fn()
      } catch (err) {
        process.stderr.write(`demo: cleanup step failed: ${err?.message ?? err}\n`)
      }
    }
  })()
  return cleaning
}
for (const [signal, number] of Object.entries({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })) {
  process.on(signal, () => {
    if (interrupted) process.exit(128 + number) // a second Ctrl-C: leave now
    interrupted = true
    process.stderr.write(`\ndemo: ${signal === 'SIGINT' ? 'interrupted' : `got ${signal}`}; stopping Verdaccio and removing the temp folders...\n`)
    cleanup().finally(() => process.exit(128 + number))
  })
}

// ---------------------------------------------------------------------------------------------------
// Running commands

let work = ''
let outputCounter = 0

/**
 * Runs a command with stdout and stderr going to one file, so the output keeps the order the reader
 * would see in a terminal. Resolves with the exit code and that output.
 */
async function run(cmd, args, { cwd, env }) {
  if (interrupted) throw new DemoError('interrupted')
  const file = path.join(work, 'logs', `${outputCounter++}.txt`)
  const fh = await open(file, 'w')
  let child
  try {
    child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fh.fd, fh.fd] })
  } finally {
    await fh.close()
  }
  children.add(child)
  const code = await new Promise((resolve) => {
    child.once('error', (err) => resolve(`could not start ${cmd}: ${err.message}`))
    child.once('exit', (c, signal) => resolve(c ?? 128 + (os.constants.signals[signal] ?? 0)))
  })
  children.delete(child)
  if (typeof code === 'string') throw new DemoError(code)
  return { code, output: await readFile(file, 'utf8') }
}

/** The built CLI, shown as `stage-publish ...`. */
async function cli(args, opts) {
  const result = await run(process.execPath, [BIN, ...args], opts)
  showRun(['stage-publish', ...args].join(' '), result)
  return result
}

/**
 * What a terminal would finally show of a transcript: applies carriage returns, "erase line" and
 * "cursor up" (what prompt libraries use to redraw a question once it is answered), drops other escapes.
 */
function screenText(raw) {
  /** @type {string[]} */
  const lines = ['']
  let row = 0
  let col = 0
  const put = (ch) => {
    const line = lines[row] ?? ''
    lines[row] = line.slice(0, col).padEnd(col) + ch + line.slice(col + 1)
    col++
  }
  // eslint-disable-next-line no-control-regex
  const token = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b[^[]|\r|\n|[^\x1b\r\n]/gu
  for (const [all, params, final] of raw.matchAll(token)) {
    if (all === '\n') {
      row++
      col = 0
      lines[row] ??= ''
    } else if (all === '\r') col = 0
    else if (final === 'A') row = Math.max(0, row - (Number(params) || 1))
    else if (final === 'B') row += Number(params) || 1
    else if (final === 'G') col = Math.max(0, (Number(params) || 1) - 1)
    else if (final === 'K') lines[row] = (lines[row] ?? '').slice(0, params === '2' ? 0 : col)
    else if (final === 'J') lines.splice(row + 1)
    else if (all.startsWith('\x1b')) continue
    else put(all)
    lines[row] ??= ''
  }
  return stripAnsi(lines.map((l) => l.replace(/\s+$/, '')).join('\n'))
}

function ptyAvailable() {
  if (flags['no-pty'] || process.platform === 'win32') return false
  const probe = spawnSync('python3', ['-c', 'import pty, termios, fcntl, select'], { stdio: 'ignore', timeout: 10_000 })
  return probe.status === 0
}

/**
 * Runs a command in a pseudo-terminal (the tests' own, test/support/pty-relay.mjs) and answers its prompts: each
 * step waits for `waitFor` to appear (after the previous one) and types `send` followed by Enter. Resolves with the
 * exit code and what the screen shows at the end.
 */
async function runInPty(argv, { cwd, env, steps, timeoutMs = 30_000 }) {
  if (interrupted) throw new DemoError('interrupted')
  // Kept in `children` while it runs, so that Ctrl-C and the cleanup stop it (the relay takes the command down).
  const onSpawn = (child) => {
    children.add(child)
    child.once('close', () => children.delete(child))
  }
  try {
    const result = await runInTerminal(argv[0], argv.slice(1), { cwd, env, steps, timeoutMs, cols: 110, rows: 40, onSpawn })
    return { code: result.exitCode, output: screenText(result.output) }
  } catch (err) {
    throw new DemoError(err.message)
  }
}

// ---------------------------------------------------------------------------------------------------
// The demo

async function main() {
  const started = Date.now()
  say(bold('stage-publish demo'))
  say(dim('Machines propose releases; maintainers ratify them with a one-time password. Everything below is'))
  say(dim('the real output of this checkout\'s CLI (bin/stage-publish.js, shown as `stage-publish`) and of npm,'))
  say(dim('against a throwaway local registry. Nothing touches your npm config or the public registry.'))
  say()

  if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
    throw new DemoError('the CLI is not built (dist/cli.js is missing): run `npm run demo`, which builds first, or `npm run build`')
  }
  // Installs Verdaccio and its own Node 24 the first time (about 15 s); a few file checks afterwards.
  const ensured = spawnSync(process.execPath, [ENSURE_VERDACCIO], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60_000 })
  if (ensured.status !== 0) throw new DemoError(`the test registry could not be installed (${ENSURE_VERDACCIO} failed; see above)`)
  const { startVerdaccio } = await import('../test/support/verdaccio-server.mjs')

  work = await mkdtemp(path.join(os.tmpdir(), 'stage-publish-demo-'))
  cleanups.push(() => rm(work, { recursive: true, force: true, maxRetries: 3 }))
  await mkdir(path.join(work, 'logs'))
  const home = path.join(work, 'home')
  const store = path.join(work, 'staged')
  const pkgDir = path.join(work, PKG_NAME)
  await mkdir(home)

  const registry = await startVerdaccio()
  cleanups.push(() => registry.stop())
  const maintainer = await registry.createUser()
  const maintainerNpmrc = await maintainer.writeNpmrc(path.join(work, 'maintainer'))
  // What a CI job might have: the registry's address, and no token at all.
  const ciNpmrc = path.join(work, 'ci', '.npmrc')
  await mkdir(path.dirname(ciNpmrc))
  await writeFile(ciNpmrc, `registry=${registry.url}\n`)

  await mkdir(pkgDir)
  await writeFile(
    path.join(pkgDir, 'package.json'),
    `${JSON.stringify({ name: PKG_NAME, version: PKG_VERSION, description: 'A package released with stage-publish', main: 'index.js', license: 'MIT' }, null, 2)}\n`,
  )
  await writeFile(path.join(pkgDir, 'index.js'), "module.exports = (name = 'world') => `hello, ${name}`\n")
  await writeFile(path.join(pkgDir, 'README.md'), `# ${PKG_NAME}\n\nSays hello. Released with stage-publish.\n`)

  /** An environment that shares nothing with yours: no npm_config_* of `npm run`, no CI variables. */
  const envWith = (npmrc) => {
    const env = {}
    for (const key of ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'SYSTEMROOT']) if (process.env[key]) env[key] = process.env[key]
    return {
      LANG: 'C.UTF-8',
      ...env,
      HOME: home,
      XDG_STATE_HOME: path.join(work, 'state'),
      XDG_CONFIG_HOME: path.join(work, 'config'),
      NPM_CONFIG_USERCONFIG: npmrc,
      NPM_CONFIG_GLOBALCONFIG: path.join(work, 'global-npmrc'),
      NPM_CONFIG_CACHE: path.join(work, 'npm-cache'),
      NPM_CONFIG_UPDATE_NOTIFIER: 'false',
      NPM_CONFIG_FUND: 'false',
      NPM_CONFIG_AUDIT: 'false',
      PAGER: 'cat',
    }
  }
  const ciEnv = envWith(ciNpmrc)
  const maintainerEnv = envWith(maintainerNpmrc)
  const backend = ['--backend', `file:${store}`]

  say(bold('Set-up'))
  say(`  registry    Verdaccio 9 at ${registry.url} with staging and 2FA (its own temp storage, no uplinks)`)
  say(`  maintainer  ${maintainer.name}, enrolled in 2FA; the demo plays their authenticator app`)
  say(`  package     ${PKG_NAME}@${PKG_VERSION} in ${pkgDir}`)
  say(`  staging     ${store} (--backend file:...)`)
  say(`  temp home   ${work} (HOME, npm config and cache, all removed at the end)`)

  header(
    'Stage the release',
    'Run where you would run `npm publish` (by hand, or in CI). It packs exactly as npm publish packs and',
    'stores the tarball in the staging backend instead of the registry. Here it runs with an npm config',
    'that names the registry but holds no token, as a CI job might: staging needs no credentials and no 2FA.',
  )
  const staged = await cli([...backend], { cwd: pkgDir, env: ciEnv })
  const id = /staged with id ([0-9a-f-]{36})/.exec(staged.output)?.[1]
  if (staged.code !== 0 || !id) throw new DemoError(`staging failed (exit code ${staged.code})`)

  header('Not installable yet', 'Nothing reached the registry: npm does not know the package.')
  const before = await run('npm', ['view', PKG_NAME, 'dist.integrity'], { cwd: work, env: maintainerEnv })
  showRun(`npm view ${PKG_NAME} dist.integrity`, before)
  if (before.code === 0) throw new DemoError('npm could see the package before it was approved')
  if (!/E404/.test(before.output)) throw new DemoError(`npm view failed, but not with E404 (exit code ${before.code})`)
  say(green('  ✓ not published (E404)'))

  header('See what is waiting', 'Anyone with access to the staging backend can list the releases waiting for approval.')
  const list = await cli(['list', ...backend], { cwd: work, env: maintainerEnv })
  if (list.code !== 0 || !list.output.includes(`${PKG_NAME}@${PKG_VERSION}`)) throw new DemoError('list did not show the staged release')

  const shortId = id.slice(0, 8)
  header('Inspect it', `Where it came from, where it will go, its exact files and integrity. Ids can be shortened to 8+ characters.`)
  const view = await cli(['view', shortId, ...backend], { cwd: work, env: maintainerEnv })
  const stagedIntegrity = /^integrity:\s+(sha512-\S+)/m.exec(view.output)?.[1]
  if (view.code !== 0 || !stagedIntegrity) throw new DemoError('view did not show the staged integrity')

  const usePty = ptyAvailable()
  header(
    'Approve it with a one-time password',
    'The maintainer approves with their own npm credentials: stage-publish checks the bytes against the',
    'recorded integrity, shows what is about to be published, asks for confirmation and for a code from',
    'their authenticator app, and only then publishes.',
  )
  // The maintainer's authenticator app: a TOTP code (otplib) from the secret Verdaccio gave at enrolment.
  const otp = await maintainer.otp()
  say(dim(`The demo's authenticator app (otplib, with the secret from the 2FA enrolment) shows ${otp}.`))
  let approved
  if (usePty) {
    say(dim('In a terminal (a pseudo-terminal driven by this script) the demo answers "y", then types that code.'))
    say(dim('The prompt echoes nothing, so the code does not appear below.'))
    const args = ['approve', shortId, ...backend]
    approved = await runInPty([process.execPath, BIN, ...args], {
      cwd: work,
      env: { ...maintainerEnv, TERM: 'xterm-256color' },
      steps: [
        { waitFor: /Publish \S+ to \S+\?/, send: 'y' },
        { waitFor: /One-time password/, send: otp },
      ],
    })
    showRun(['stage-publish', ...args].join(' '), approved)
  } else {
    const why = flags['no-pty'] ? 'With --no-pty' : 'Without python3 (for a pseudo-terminal)'
    say(dim(`${why} the demo cannot answer the interactive prompts: it passes --yes, and the code with --otp.`))
    approved = await cli(['approve', shortId, '--yes', '--otp', otp, ...backend], { cwd: work, env: maintainerEnv })
  }
  if (approved.code !== 0 || !approved.output.includes(`+ ${PKG_NAME}@${PKG_VERSION}`)) {
    throw new DemoError(`approval failed (exit code ${approved.code})`)
  }

  header('Published, byte for byte', 'npm now sees the release, with the integrity that was staged and reviewed.')
  const after = await run('npm', ['view', `${PKG_NAME}@${PKG_VERSION}`, 'dist.integrity'], { cwd: work, env: maintainerEnv })
  showRun(`npm view ${PKG_NAME}@${PKG_VERSION} dist.integrity`, after)
  const publishedIntegrity = after.output.trim()
  if (after.code !== 0) throw new DemoError('npm could not see the package after approval')
  if (publishedIntegrity !== stagedIntegrity) {
    throw new DemoError(`the published integrity differs from the staged one (${stagedIntegrity})`)
  }
  say(green(`  ✓ same integrity as staged: ${stagedIntegrity.slice(0, 27)}…`))

  say()
  say(bold(`Demo complete in ${((Date.now() - started) / 1000).toFixed(1)} s: staged → not installable → approved with a one-time password → published with the same integrity.`))
  say(dim(`Approved ${usePty ? 'through the interactive prompts' : 'with --yes --otp'}. Stopping Verdaccio and removing ${work}.`))
}

try {
  await main()
  await cleanup()
} catch (err) {
  // A Ctrl-C reaches the command being run too, which may fail before our own handler has run.
  await new Promise((resolve) => setTimeout(resolve, 200))
  if (interrupted) await new Promise(() => {}) // the signal handler cleans up and exits
  process.exitCode = 1
  const message = err instanceof DemoError ? err.message : (err?.stack ?? String(err))
  process.stderr.write(`\ndemo failed: ${message}\n`)
  if (err instanceof DemoError && err.output) process.stderr.write(`--- its output ---\n${err.output.replace(/\s+$/, '')}\n`)
  await cleanup()
}
