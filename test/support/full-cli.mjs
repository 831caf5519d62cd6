// The full CLI as bin/stage-publish.js runs it when `list`'s fast path (src/list-main.ts) declines:
// test/e2e/list-fast-path.test.ts runs both on the same command lines and compares what they print.
const { main, quietOnClosedPipe } = await import('../../dist/cli.js')
quietOnClosedPipe()
process.exitCode = await main(process.argv)
