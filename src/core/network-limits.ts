/**
 * How long stage-publish waits on the network, in one place (docs/configuration.md, "Timeouts"). A person waits at
 * the other end: a registry or bucket that accepts a connection and never answers must become a
 * clear error naming the host within 30 s, not npm's 5 minutes per attempt times its retries.
 */
export const NETWORK_LIMITS = {
  /** A registry read (package document, whoami, a staged item or list page, a tarball): per attempt. */
  readTimeoutMs: 10_000,
  /** Reads are tried twice, half a second apart: a dropped connection heals, a silent server is not waited on. */
  readRetries: 1,
  /** The hard end of one read, retries and connecting included (npm's agent has no connect timeout of its own). */
  readDeadlineMs: 25_000,
  /**
   * A registry write (publish, stage, approve, reject): the tarball goes up first, so it gets longer.
   * Never retried automatically: the approval claim is held meanwhile, and approving again is safe.
   */
  writeTimeoutMs: 30_000,
  /** The hard end of one write, connecting included. */
  writeDeadlineMs: 35_000,
  /** S3: opening a connection to the endpoint. */
  s3ConnectTimeoutMs: 3_000,
  /** S3: a connection that sends nothing for this long is given up. */
  s3SocketTimeoutMs: 7_000,
  /** S3: one request from start to response; an upload of a large tarball must fit in it. */
  s3RequestTimeoutMs: 30_000,
  /** S3: attempts per request, the first one included (the SDK backs off between them). */
  s3MaxAttempts: 2,
} as const
