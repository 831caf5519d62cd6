/**
 * The CI renderers (src/ui/ci-*.ts) and the webhook body (src/ui/notify-payload.ts), judged as their
 * readers read them: workflow commands and $GITHUB_OUTPUT through a port of the GitHub runner's own
 * parsers (test/support/actions-runner.ts), markdown by undoing exactly the escapes CommonMark undoes,
 * dotenv by GitLab's rules. Every hostile value tries to become a command, an output, markup or a line.
 */
import { describe, expect, it } from 'vitest'
import type { Finding, Review } from '../../src/core/review.js'
import { escapeData, escapeProperty, neutraliseJsonWorkflowCommands, neutraliseWorkflowCommands, workflowCommand } from '../../src/ui/ci-commands.js'
import { githubAnnotations, githubOutputValues, githubOutputs, githubSummary, markdownText, MAX_SUMMARY_CHARS } from '../../src/ui/ci-github.js'
import { DOTENV_MAX_BYTES, gitlabDotenv, gitlabDotenvValues } from '../../src/ui/ci-gitlab.js'
import { approveCommand, reportedRelease, type StagedReport } from '../../src/ui/ci-report.js'
import { slackText, webhookPayload } from '../../src/ui/notify-payload.js'
import { createOutput } from '../../src/ui/output.js'
import { inline } from '../../src/ui/sanitize.js'
import { runnerCommands, runnerOutputs } from '../support/actions-runner.js'
import { sampleRecord } from '../support/records.js'

/** Text that tries every way into the runner: new lines that are commands, the legacy form, a stop, a property break. */
const HOSTILE = 'x\n::set-output name=id::pwned\r\n  ::stop-commands::tok\n##[set-output name=id;]pwned %0A::add-mask::a, title=b::c\u3000::error::d <img src=x onerror=alert(1)> [link](javascript:alert(1)) | a | `code` # h'

const review = (findings: Finding[]): Review => ({
  package: { name: 'lib', version: '1.0.0' },
  baseline: { version: null, reason: 'first-release' },
  files: { added: [], removed: [], changed: [] },
  size: { unpacked: 1 },
  dependencies: [],
  findings,
})

const hostileFindings: Finding[] = [
  { code: 'INSTALL_SCRIPT_ADDED', severity: 'danger', args: { script: 'postinstall', command: HOSTILE } },
  { code: 'SENSITIVE_FILE', severity: 'danger', args: { path: `##[add-mask]${HOSTILE}`, reason: 'env-file' } },
  { code: 'UNUSUAL_LOCATION', severity: 'warn', args: { path: HOSTILE, files: 1 } },
  { code: 'FIRST_RELEASE', severity: 'info', args: { version: '1.0.0' } },
]

function report(over: Partial<StagedReport> = {}): StagedReport {
  const record = sampleRecord({ packageName: 'lib', version: '1.0.0' })
  return { setId: null, releases: [reportedRelease(record, review(hostileFindings))], approveCommand: approveCommand(null, [record.id], " --backend 's3://b/p?region=x&endpoint=http://h'"), ...over }
}

describe('workflow commands', () => {
  it('escapes data and properties so the runner reads back exactly what was meant, as one command', () => {
    const line = workflowCommand('warning', { title: HOSTILE, file: 'a,b:c' }, HOSTILE)
    expect(line.split(/\r|\n/)).toHaveLength(1)
    const acted = runnerCommands(line)
    expect(acted).toHaveLength(1)
    expect(acted[0]).toMatchObject({ command: 'warning', data: HOSTILE, properties: { title: HOSTILE, file: 'a,b:c' } })
    expect(escapeData('%\r\n')).toBe('%25%0D%0A')
    expect(escapeProperty('%:,\n')).toBe('%25%3A%2C%0A')
  })

  it('one ::warning per danger finding and nothing else the runner would act on', () => {
    const lines = githubAnnotations(report())
    expect(lines).toHaveLength(2)
    const acted = runnerCommands(lines.join('\n'))
    expect(acted.map((c) => c.command)).toEqual(['warning', 'warning'])
    expect(acted[0]?.properties.title).toBe('stage-publish: lib@1.0.0 INSTALL_SCRIPT_ADDED')
    expect(acted[0]?.data).toContain('::set-output name=id::pwned')
    // The finding's text arrives as one line: its own line feeds are shown as \x0a.
    expect(acted[0]?.data).not.toMatch(/[\r\n]/)
  })

  it('neutralises every line we print in GitHub Actions: no command, no stop, no legacy form', () => {
    const text = [
      '::set-output name=id::pwned',
      '  ::stop-commands::tok',
      '\t\u3000::add-mask::secret',
      'files: ##[set-output name=id;]pwned',
      '   0 B ##[stop-commands]tok',
      'plain line',
    ].join('\n')
    // Watch the attack work without it.
    expect(runnerCommands(text).map((c) => c.command)).toEqual(['set-output', 'stop-commands'])
    expect(runnerCommands(neutraliseWorkflowCommands(text))).toEqual([])
    expect(neutraliseWorkflowCommands('plain :: line')).toBe('plain :: line')
    expect(neutraliseWorkflowCommands('  \u001b[1m::set-output name=id::x')).toBe('  \u001b[1m\\x3a:set-output name=id::x')
  })

  it('neutralises JSON without changing its value', () => {
    const value = { files: ['##[set-output name=id;]pwned', '::set-output name=id::x'], name: '##[add-mask]a' }
    const text = JSON.stringify(value, null, 2)
    expect(runnerCommands(text).length).toBeGreaterThan(0)
    const safe = neutraliseJsonWorkflowCommands(text)
    expect(runnerCommands(safe)).toEqual([])
    expect(JSON.parse(safe)).toEqual(value)
  })

  it('the one door (src/ui/output.ts) neutralises human text and JSON in GitHub Actions only', () => {
    const chunks = (): { stdout: { write: (s: string) => boolean }; text: string[] } => {
      const text: string[] = []
      return { text, stdout: { write: (s: string) => (text.push(s), true) } }
    }
    for (const env of [{ GITHUB_ACTIONS: 'true' }, {}]) {
      const out = chunks()
      const err = chunks()
      const human = createOutput({ json: false, stdout: out.stdout as never, stderr: err.stdout as never, env })
      human.notice(`  ##[set-output name=id;]pwned`)
      human.line('::set-output name=id::pwned')
      const json = createOutput({ json: true, stdout: out.stdout as never, stderr: err.stdout as never, env })
      json.data({ path: '##[set-output name=id;]pwned' })
      const acted = runnerCommands(out.text.join(''), err.text.join(''))
      if (env.GITHUB_ACTIONS) expect(acted).toEqual([])
      else expect(acted.length).toBeGreaterThan(0)
      expect(JSON.parse(out.text.at(-1) as string)).toEqual({ path: '##[set-output name=id;]pwned' })
    }
  })
})

describe('step outputs ($GITHUB_OUTPUT)', () => {
  const delimiter = 'ghadelimiter_6a1f1d7e-58d4-4f4c-9b49-0d3b8c1f2e3a'

  it('reads back as exactly our values, whatever a value holds', () => {
    const values: Array<[string, string]> = [
      ['id', 'a\nset-id=pwned\nset-id<<EOF\nevil\nEOF\nghadelimiter_x'],
      ['ids', '["1","2"]'],
    ]
    const outputs = runnerOutputs(githubOutputs(values, delimiter))
    expect(outputs).toEqual(Object.fromEntries(values))
    // The plain NAME=VALUE form would have let the value set another output: watch it.
    expect(runnerOutputs(values.map(([k, v]) => `${k}=${v.replace(/\nghadelimiter_x$/, '')}\n`).join(''))).toHaveProperty('set-id')
  })

  it('refuses a value that holds the delimiter, a bad name and a bad delimiter', () => {
    expect(() => githubOutputs([['id', `x\n${delimiter}\nset-id=evil`]], delimiter)).toThrow(/delimiter/)
    expect(() => githubOutputs([['id<<x', 'v']], delimiter)).toThrow(/name/)
    expect(() => githubOutputs([['id', 'v']], 'EOF')).toThrow(/delimiter/)
  })

  it('names one release: id, integrity, shasum, ids, the danger count and the approve command', () => {
    const r = report()
    const outputs = runnerOutputs(githubOutputs(githubOutputValues(r), delimiter))
    const only = r.releases[0]
    expect(outputs).toEqual({
      id: only?.id,
      integrity: only?.integrity,
      shasum: only?.shasum,
      ids: JSON.stringify([only?.id]),
      releases: JSON.stringify([{ id: only?.id, name: 'lib', version: '1.0.0', integrity: only?.integrity, shasum: only?.shasum }]),
      danger: '2',
      'approve-command': r.approveCommand,
    })
  })

  it('names a set by set-id and ids, without a single id or digest', () => {
    const a = reportedRelease(sampleRecord({ id: '11111111-1111-4111-8111-111111111111', packageName: 'a' }), null, 'offline')
    const b = reportedRelease(sampleRecord({ id: '22222222-2222-4222-8222-222222222222', packageName: 'b' }), null, 'offline')
    const setId = '33333333-3333-4333-8333-333333333333'
    const outputs = runnerOutputs(githubOutputs(githubOutputValues({ setId, releases: [a, b], approveCommand: approveCommand(setId, [], '') }), delimiter))
    expect(Object.keys(outputs).sort()).toEqual(['approve-command', 'danger', 'ids', 'releases', 'set-id'])
    expect(outputs['set-id']).toBe(setId)
    expect(JSON.parse(outputs.ids as string)).toEqual([a.id, b.id])
    expect(outputs['approve-command']).toBe(`npx stage-publish approve ${setId}`)
  })
})

/** What CommonMark shows for our markdown text: backslash escapes and the entities we write, undone. */
const shown = (md: string): string => md.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')

describe('job summary (markdown)', () => {
  it('shows hostile text literally: every punctuation escaped, nothing left to make markup of', () => {
    const md = markdownText(HOSTILE)
    expect(shown(md)).toBe(inline(HOSTILE))
    // With escapes and entities taken out, no character that could start markup is left.
    expect(md.replace(/\\[!-/:-@[-`{-~]/g, '').replace(/&(lt|gt|amp);/g, '')).not.toMatch(/[!-/:-@[-`{-~]/)
    expect(md).not.toMatch(/[\r\n]/)
  })

  it('has the release, digests, review counts, top findings and the approve command in a fence', () => {
    const r = report()
    const md = githubSummary(r)
    const only = r.releases[0]
    expect(md).toContain(`#### lib\\@1\\.0\\.0`)
    expect(md).toContain(markdownText(only?.id ?? ''))
    expect(md).toContain(markdownText(only?.integrity ?? ''))
    expect(md).toContain('**2 dangers**, 1 warning, 1 note')
    expect(md).toContain('(INSTALL\\_SCRIPT\\_ADDED)')
    expect(md).toContain(`\`\`\`sh\n${r.approveCommand}\n\`\`\``)
    // No line of it starts markup the attacker chose: every line is ours.
    for (const line of md.split('\n')) expect(line).toMatch(/^(|#{3,4} .*|- .*| {2}- .*|To publish.*|```(sh)?|npx stage-publish approve .*)$/)
  })

  it('stays under the runner limit for a very large set', () => {
    const many = Array.from({ length: 400 }, (_, i) => reportedRelease(sampleRecord({ packageName: `pkg-${i}` }), review(hostileFindings)))
    const md = githubSummary({ setId: '33333333-3333-4333-8333-333333333333', releases: many, approveCommand: 'npx stage-publish approve 33333333-3333-4333-8333-333333333333' })
    expect(md.length).toBeLessThan(MAX_SUMMARY_CHARS + 1000)
    expect(md).toMatch(/… and \d+ more releases: `stage-publish view 33333333-3333-4333-8333-333333333333` shows them\./)
  })
})

describe('GitLab dotenv report', () => {
  const NAME = /^[A-Za-z0-9_]+$/
  const lineRule = (line: string): void => {
    const eq = line.indexOf('=')
    expect(NAME.test(line.slice(0, eq)), line).toBe(true)
    // No spaces, quotes kept literally by GitLab, so none; no control characters.
    expect(line.slice(eq + 1), line).toMatch(/^[!#-&(-~]*$/)
  }

  it('writes the release as NAME=value lines GitLab accepts', () => {
    const { text, dropped } = gitlabDotenv(gitlabDotenvValues(report()))
    expect(dropped).toEqual([])
    const lines = text.trimEnd().split('\n')
    lines.forEach(lineRule)
    const only = report().releases[0]
    expect(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))).toEqual({
      STAGE_PUBLISH_ID: only?.id,
      STAGE_PUBLISH_INTEGRITY: only?.integrity,
      STAGE_PUBLISH_SHASUM: only?.shasum,
      STAGE_PUBLISH_DANGER: '2',
      STAGE_PUBLISH_IDS: only?.id,
    })
  })

  it('leaves out a value GitLab would refuse, and the id list when the file would reach 5 KB', () => {
    expect(gitlabDotenv([['STAGE_PUBLISH_ID', 'a b'], ['BAD-NAME', 'x'], ['OK', 'y']])).toEqual({ text: 'OK=y\n', dropped: ['STAGE_PUBLISH_ID', 'BAD-NAME'] })
    const many = Array.from({ length: 200 }, (_, i) => reportedRelease(sampleRecord({ id: `${String(i).padStart(8, '0')}-1111-4111-8111-111111111111` }), null, 'x'))
    const { text, dropped } = gitlabDotenv(gitlabDotenvValues({ setId: '33333333-3333-4333-8333-333333333333', releases: many, approveCommand: '' }))
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(DOTENV_MAX_BYTES)
    expect(dropped).toEqual(['STAGE_PUBLISH_IDS'])
    expect(text).toContain('STAGE_PUBLISH_SET_ID=33333333-3333-4333-8333-333333333333\n')
  })
})

describe('webhook body', () => {
  it('carries the event, the releases with their review summary, who, the command and a Slack text', () => {
    const r = report()
    const body = webhookPayload({ event: 'staged', releases: r.releases, by: 'ci-bot', at: '2026-12-02T00:00:00.000Z', setId: null, approveCommand: r.approveCommand })
    expect(body).toMatchObject({ schema: 1, event: 'staged', by: 'ci-bot', approveCommand: r.approveCommand, setId: null })
    const release = (body.releases as Array<Record<string, unknown>>)[0]
    expect(release).toMatchObject({ id: r.releases[0]?.id, name: 'lib', version: '1.0.0', review: { danger: 2, warn: 1, info: 1 } })
    expect(body.text).toMatch(/^stage-publish: lib@1\.0\.0 staged by ci-bot\. Review: 2 danger, 1 warning\./)
  })

  it("Slack text: no mention, link or line can be formed from a package's text", () => {
    const t = slackText('<!channel> <https://evil|click> & `x`\nline')
    expect(t).toBe("&lt;!channel&gt; &lt;https://evil|click&gt; &amp; 'x'\\x0aline")
    const r = report()
    const body = webhookPayload({ event: 'rejected', releases: r.releases, by: '<!here>', at: '2026-12-02T00:00:00.000Z', setId: null, reason: '<@U123>' })
    expect(body.text).not.toMatch(/[<>\n]/)
    expect(body.reason).toBe('<@U123>')
  })
})
