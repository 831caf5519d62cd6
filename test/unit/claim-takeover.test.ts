/** Which claims this process may take over at once: only its own approver's, on this host, whose process is gone. */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { abandonedByUs, processAlive, type Self } from '../../src/flows/claim.js'

// A pid that existed and is gone: a child that already exited (and was reaped).
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid

const me: Self = { host: 'box-1', pid: process.pid, identity: async () => 'alice' }
const at = new Date().toISOString()

describe('abandonedByUs', () => {
  it('is true for our identity on our host with a process that is gone', async () => {
    expect(await abandonedByUs({ by: 'alice', at, host: 'box-1', pid: deadPid() }, me)).toBe(true)
  })
  it('is false for another approver, another host, a live process, or no pid', async () => {
    const pid = deadPid()
    expect(await abandonedByUs({ by: 'bob', at, host: 'box-1', pid }, me)).toBe(false)
    expect(await abandonedByUs({ by: 'alice', at, host: 'box-2', pid }, me)).toBe(false)
    expect(await abandonedByUs({ by: 'alice', at, host: 'box-1', pid: process.ppid }, me)).toBe(false)
    expect(await abandonedByUs({ by: 'alice', at, host: 'box-1' }, me)).toBe(false)
    expect(await abandonedByUs({ by: 'alice', at }, me)).toBe(false)
  })
  it('never signals process groups or every process (pids from the backend are untrusted)', async () => {
    for (const pid of [0, -1, 1, -4242, 1.5, Number.NaN]) expect(await abandonedByUs({ by: 'alice', at, host: 'box-1', pid }, me)).toBe(false)
  })
})

describe('processAlive', () => {
  it('tells a running process from one that exited', () => {
    expect(processAlive(process.pid)).toBe(true)
    expect(processAlive(deadPid())).toBe(false)
  })
})
