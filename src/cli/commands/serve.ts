import { Primary } from '../../cluster/primary.js';
import { planFromConfigFile } from '../../config/config-file.js';
import { planFromFlags, type ServeFlags } from '../../config/flags.js';
import type { Plan } from '../../config/plan.js';
import { createLogger } from '../../log/logger.js';
import type { OptionValues } from '../serve-options.js';

/** `portico serve ROOT [flags]`: one site from the flags. */
export async function serveCommand(values: OptionValues): Promise<number> {
  return run(await planFromFlags(values as ServeFlags));
}

/** `portico serve --config FILE`: the file's sites; SIGHUP or `portico reload` reads it again. */
export async function serveConfigCommand(file: string): Promise<number> {
  return run(await planFromConfigFile(file), (path) => planFromConfigFile(path));
}

async function run(plan: Plan, reread?: (file: string) => Promise<Plan>): Promise<number> {
  // Workers inherit the environment, so they write the operator log the same way.
  process.env.PORTICO_LOG_FORMAT = plan.logFormat;
  const primary = new Primary(plan, createLogger('primary'), (line) => process.stdout.write(`${line}\n`), reread);
  await primary.start();
  return primary.done;
}
