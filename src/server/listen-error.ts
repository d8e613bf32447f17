import { describeError, PorticoError, systemErrorCode } from '../errors.js';

/** What a user is told when a listener cannot be opened: which port, which option, what to do. */
export function listenError(name: string, port: number, error: unknown): PorticoError {
  const code = systemErrorCode(error);
  if (code === 'EADDRINUSE') {
    return new PorticoError('ERR_PORT_IN_USE', `port ${port} (--${name}) is already in use: stop the program using it or choose another port with --${name}`, { cause: error });
  }
  if (code === 'EACCES') {
    return new PorticoError('ERR_PORT_ACCESS', `port ${port} (--${name}) was refused by the operating system: ports below 1024 need privileges: choose a port above 1023, or give Node the capability (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE; see docs/service.md)`, { cause: error });
  }
  return new PorticoError('ERR_LISTEN_FAILED', `could not listen on port ${port} (--${name}): ${describeError(error)}`, { cause: error });
}
