/** Words for `download` (src/flows/download.ts). Pure: returns text and --json data. */
import { inline } from './sanitize.js'

/** What `download` wrote (src/flows/download.ts returns it; defined here because ui does not import flows). */
export interface DownloadResult {
  id: string
  name: string
  version: string
  integrity: string
  shasum: string
  /** Bytes written: the verified tarball. */
  size: number
  filename: string
  /** The absolute path written. */
  path: string
  /** The path as people see it: relative to the current folder, or absolute when that is empty. */
  shownPath: string
}

/** The one line of human output: the file written (its name holds the package's name and version). */
export const renderDownload = (result: DownloadResult): string => inline(result.shownPath)

export const downloadJson = (result: DownloadResult): Omit<DownloadResult, 'shownPath'> => {
  const { shownPath: _shown, ...data } = result
  return data
}
