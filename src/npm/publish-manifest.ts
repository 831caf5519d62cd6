/**
 * The manifest `npm publish <tarball>` sends, built from the tarball that was already read, checked
 * and reviewed — not from its bytes again. npm gets it from pacote (FileFetcher.manifest with
 * fullReadJson: extract, then @npmcli/package-json `prepare`, which fills in readme, bin from
 * directories.bin, man pages, the gyp install script, types, gitHead...). Those steps look at the
 * files, so the parsed files are written into a fresh private folder (every file created
 * exclusively, by us, from names the strict reader accepted) and `prepare` runs there.
 *
 * Two deliberate differences from pacote: the search for a `.git` folder (gitHead) stops at that
 * folder instead of climbing into the approver's directories, and `_resolved`/`_from`, which would
 * name the temporary file, are left out. `_integrity` is the tarball's sha512, as pacote sets it.
 */
import { createRequire } from 'node:module'
import { constants, promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { escapeText, quoteEntryName } from '../core/tarball-paths.js'
import { sha512Integrity, type TarballContents } from './tarball.js'

const require = createRequire(import.meta.url)

/** A package.json as npm reads it: what this tool looks at, and anything else. */
export type Manifest = Record<string, unknown> & {
  name?: string
  version?: string
  private?: boolean
  publishConfig?: Record<string, unknown>
  scripts?: Record<string, string>
  stagePublish?: Record<string, unknown>
}

interface PackageJsonClass {
  prepare(dir: string, opts?: { root?: string }): Promise<{ content: Manifest }>
}

export interface ParsedTarball {
  bytes: Uint8Array
  contents: TarballContents
}

/**
 * The manifest to publish for these verified contents. With `expected`, a name or version that
 * differs from it (after npm's normalisation) is EINTEGRITY: nothing is published.
 */
export async function publishManifest(tarball: ParsedTarball, expected?: { name: string; version: string }): Promise<Manifest> {
  const PackageJson = require('@npmcli/package-json') as PackageJsonClass
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-manifest-'))
  let manifest: Manifest
  try {
    const root = await fs.realpath(dir)
    await writeContents(root, tarball.contents)
    try {
      manifest = (await PackageJson.prepare(root, { root })).content
    } catch (err) {
      throw new StagePublishError('EBADMANIFEST', `The package.json in the tarball cannot be published: ${escapeText(String((err as Error).message))}`, {
        hint: 'Nothing was published. Fix package.json and stage the release again.',
        cause: err,
      })
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
  manifest = { ...manifest, _integrity: sha512Integrity(tarball.bytes) }
  if (expected && (manifest.name !== expected.name || manifest.version !== expected.version)) {
    throw new StagePublishError('EINTEGRITY', `The tarball's package.json would publish ${quoteEntryName(String(manifest.name))}@${quoteEntryName(String(manifest.version))}, not ${expected.name}@${expected.version}`, {
      hint: 'Nothing was published. Reject the release and stage it again from its source.',
    })
  }
  return manifest
}

/** package.json is written from the parsed object (the one reviewed), every other file from its bytes. */
async function writeContents(root: string, contents: TarballContents): Promise<void> {
  const made = new Set<string>(['.'])
  for (const file of contents.files) {
    const parent = path.posix.dirname(file.path)
    if (!made.has(parent)) {
      await fs.mkdir(path.join(root, parent), { recursive: true, mode: 0o700 })
      made.add(parent)
    }
    const data = file.path === 'package.json' ? JSON.stringify(contents.manifest) : file.data
    // O_EXCL|O_NOFOLLOW: a name that somehow maps onto an existing file fails instead of overwriting or following it.
    const fh = await fs.open(path.join(root, file.path), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    try {
      await fh.writeFile(data)
    } finally {
      await fh.close()
    }
  }
}
