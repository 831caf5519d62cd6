/** A small npm workspace for release-set tests. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { sandbox, uniqueName, type Sandbox } from './cli.js'

export interface Workspace {
  sb: Sandbox
  root: string
  names: { a: string; b: string; c: string; p: string }
}

/** A workspace: a depends on b, b on c, c on nothing; p is private. */
export async function workspace(): Promise<Workspace> {
  const sb = await sandbox()
  const names = { a: uniqueName('set-a'), b: uniqueName('set-b'), c: uniqueName('set-c'), p: uniqueName('set-private') }
  const root = path.join(sb.dir, 'repo')
  const write = async (dir: string, manifest: Record<string, unknown>) => {
    await fs.mkdir(path.join(root, dir), { recursive: true })
    await fs.writeFile(path.join(root, dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    await fs.writeFile(path.join(root, dir, 'index.js'), `module.exports = ${JSON.stringify(manifest.name)}\n`)
  }
  await write('.', { name: 'repo-root', version: '0.0.0', private: true, workspaces: ['packages/*'] })
  await write('packages/a', { name: names.a, version: '1.0.0', dependencies: { [names.b]: '^1.0.0' } })
  await write('packages/b', { name: names.b, version: '1.0.0', dependencies: { [names.c]: '^1.0.0' } })
  await write('packages/c', { name: names.c, version: '1.0.0' })
  await write('packages/p', { name: names.p, version: '1.0.0', private: true })
  return { sb, root, names }
}

