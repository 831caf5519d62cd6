/** File names made from untrusted names and versions. Pure. */
/** A name@version a person can read back; the file name npm uses for tarballs, scope flattened. */
export const tarballFileName = (name: string, version: string, id?: string): string => {
  const base = `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}${id ? `-${id}` : ''}.tgz`
  // Names and versions come from an untrusted record: keep only what is safe in a file name.
  return base.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^\.+/, '_')
}
