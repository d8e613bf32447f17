#!/usr/bin/env node
import cluster from 'node:cluster';
import { runCli } from './cli/run-cli.js';
import { runWorker } from './cluster/worker.js';

// One entry point for both roles: the primary runs the CLI; cluster workers serve.
if (cluster.isWorker) {
  runWorker();
} else {
  process.exitCode = await runCli(process.argv.slice(2));
}
