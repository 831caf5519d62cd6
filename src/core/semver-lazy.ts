/**
 * The two semver functions record and set parsing use, each loaded on first use (only that function's
 * modules, not semver's index): building semver's regular expressions is a tenth of `list`'s start-up, and a
 * listing answered from its cache parses no record.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** semver.valid: the normalised version, or null. */
export const semverValid = (version: string): string | null => (require('semver/functions/valid.js') as typeof import('semver/functions/valid.js'))(version)

/** semver.validRange: the normalised range, or null. */
export const semverValidRange = (range: string): string | null => (require('semver/ranges/valid.js') as typeof import('semver/ranges/valid.js'))(range)
