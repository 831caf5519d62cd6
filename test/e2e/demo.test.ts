/**
 * `npm run demo` must keep working: it runs the real CLI through the whole loop against its own
 * throwaway Verdaccio (not the shared one), so a change that breaks the newcomer's first impression
 * fails here. Uses the build that `npm test` makes first.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../support/cli.js'

interface DemoRun {
  code: number
  stdout: string
  stderr: string
}

function runDemo(args: string[] = []): Promise<DemoRun> {
  // Only what a newcomer's shell would have: the demo builds its own isolated npm environment.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NO_COLOR: '1' }
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'scripts', 'demo.mjs'), ...args], { cwd: ROOT, env, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

/** The staged integrity (from `view`) and the published one (from `npm view`), in the demo's order. */
function checkLoop(out: string): void {
  const staged = out.indexOf('(staged with id ')
  const notPublished = out.indexOf('npm error code E404')
  const approvedAt = out.indexOf('+ hello-stage-publish@1.0.0\n')
  const stagedIntegrity = /^ {2}integrity: {3}(sha512-\S+)$/m.exec(out)?.[1]
  const published = /\$ npm view hello-stage-publish@1\.0\.0 dist\.integrity\n {2}(sha512-\S+)\n/.exec(out)
  expect(staged, out).toBeGreaterThan(0)
  expect(notPublished, out).toBeGreaterThan(staged)
  expect(approvedAt, out).toBeGreaterThan(notPublished)
  expect(stagedIntegrity, out).toMatch(/^sha512-/)
  expect(published?.[1], out).toBe(stagedIntegrity)
  expect(published!.index, out).toBeGreaterThan(approvedAt)
  expect(out).toContain('✓ same integrity as staged')
  expect(out).toMatch(/Demo complete in [\d.]+ s/)
}

describe('npm run demo', () => {
  it('stages, approves through the interactive prompts, and publishes the same integrity', async () => {
    const r = await runDemo()
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    checkLoop(r.stdout)
    // python3 is on the machines that run the tests: the real prompts were answered in a pseudo-terminal.
    expect(r.stdout).toContain('Approved through the interactive prompts')
    expect(r.stdout).toMatch(/✔ Publish hello-stage-publish@1\.0\.0 to \S+\? Yes/)
  })

  it('falls back to --yes --otp without a pseudo-terminal', async () => {
    const r = await runDemo(['--no-pty'])
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    checkLoop(r.stdout)
    expect(r.stdout).toMatch(/\$ stage-publish approve [0-9a-f]{8} --yes --otp \d{6} /)
  })
})
