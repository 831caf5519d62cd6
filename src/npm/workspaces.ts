/**
 * The workspaces of a project, found as npm finds them (npm lib/utils/get-workspaces.js): the root's
 * package.json `workspaces` globs read by @npmcli/map-workspaces, narrowed by `-w <name|path>` filters
 * that match a workspace's name, its folder, or a folder holding it.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import { StagePublishError } from '../errors.js'

const require = createRequire(import.meta.url)

export interface Workspace {
  name: string
  /** Absolute folder. */
  path: string
}

export async function readWorkspaces(root: string, filters: string[], cwd: string): Promise<Workspace[]> {
  const pkgJson = require('@npmcli/package-json') as { normalize(dir: string): Promise<{ content: Record<string, unknown> }> }
  const mapWorkspaces = require('@npmcli/map-workspaces') as (opts: { cwd: string; pkg: Record<string, unknown> }) => Promise<Map<string, string>>
  let all: Map<string, string>
  try {
    const { content: pkg } = await pkgJson.normalize(root)
    all = await mapWorkspaces({ cwd: root, pkg })
  } catch (err) {
    throw new StagePublishError('EBADMANIFEST', `The workspaces of ${root} could not be read: ${(err as Error).message}`, {
      hint: 'Check the "workspaces" field of the root package.json.',
      cause: err,
    })
  }
  if (!all.size) {
    throw new StagePublishError('EUSAGE', `${path.join(root, 'package.json')} declares no workspaces`, {
      hint: 'Add a "workspaces" field (for example ["packages/*"]), or stage one package without --workspaces.',
      exitCode: 2,
    })
  }
  const picked = new Map<string, string>()
  for (const filter of filters) {
    let matched = false
    for (const [name, dir] of all) {
      const target = path.resolve(cwd, filter)
      if (filter === name || target === dir || dir.startsWith(`${target}${path.sep}`)) {
        picked.set(name, dir)
        matched = true
      }
    }
    if (!matched) {
      throw new StagePublishError('EUSAGE', `No workspace matches -w ${filter}`, {
        hint: `The workspaces of ${root}: ${[...all.keys()].join(', ')}.`,
        exitCode: 2,
      })
    }
  }
  const chosen = filters.length ? picked : all
  return [...chosen].map(([name, dir]) => ({ name, path: dir })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}
