import type { Binding } from '../config/plan.js';
import { describeError, PorticoError, systemErrorCode } from '../errors.js';

/**
 * What a user is told when a listener cannot be opened: which port, what set it (`--https`, or
 * `https: in FILE`), and what to do, in the terms of whichever they used.
 */
export function listenError(binding: Pick<Binding, 'port' | 'setting'>, error: unknown): PorticoError {
  const { port, setting } = binding;
  const change = setting.startsWith('--') ? `with ${setting}` : `by changing ${setting}`;
  const code = systemErrorCode(error);
  if (code === 'EADDRINUSE') {
    return new PorticoError('ERR_PORT_IN_USE', `port ${port} (${setting}) is already in use: stop the program using it or choose another port ${change}`, { cause: error });
  }
  if (code === 'EACCES') {
    return new PorticoError('ERR_PORT_ACCESS', `port ${port} (${setting}) was refused by the operating system: ports below 1024 need privileges: choose a port above 1023, or give Node the capability (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE; see docs/service.md)`, { cause: error });
  }
  return new PorticoError('ERR_LISTEN_FAILED', `could not listen on port ${port} (${setting}): ${describeError(error)}`, { cause: error });
}
