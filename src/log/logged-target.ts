/** How much of a request-target a log line shows: enough to recognise it, never a client's megabyte. */
const SHOWN_CHARACTERS = 256;

/**
 * A request-target as log lines show it: whole when short, else its start and its length, so a
 * client sending 16 KiB URLs cannot make each of its requests cost 16 KiB of log.
 */
export function loggedTarget(target: string): string {
  return target.length <= SHOWN_CHARACTERS ? target : `${target.slice(0, SHOWN_CHARACTERS)}… (${target.length} characters)`;
}
