import { Primary } from '../../cluster/primary.js';
import { planFromFlags, type ServeFlags } from '../../config/flags.js';
import { createLogger } from '../../log/logger.js';
import type { OptionValues } from '../serve-options.js';

/** `portico serve`: builds and validates the Plan, then runs the primary. */
export async function serveCommand(values: OptionValues): Promise<number> {
  const plan = await planFromFlags(values as ServeFlags);
  const primary = new Primary(plan, createLogger('primary'), (line) => process.stdout.write(`${line}\n`));
  await primary.start();
  return primary.done;
}
