#!/usr/bin/env node
import cluster from 'node:cluster';

// One entry point for both roles: the primary runs the CLI; cluster workers serve. Each loads
// only its own code, so a worker never pays for the CLI or the certificate authority.
if (cluster.isWorker) {
  const { runWorker } = await import('./cluster/worker.js');
  runWorker();
} else {
  const { runCli } = await import('./cli/run-cli.js');
  process.exitCode = await runCli(process.argv.slice(2));
}
