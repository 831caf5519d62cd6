#!/usr/bin/env node
import { main, quietOnClosedPipe } from '../dist/cli.js'

quietOnClosedPipe()
process.exitCode = await main(process.argv)
