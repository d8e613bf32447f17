/**
 * Every error a user can cause or meet has a stable code from this catalogue, so the code they
 * see on the terminal can be searched for in docs/errors.md. Messages are written for the
 * person who reads them: what is wrong, where, and what to do.
 */
export const ERROR_CODES = {
  ERR_USAGE: 'the command line could not be understood',
  ERR_INVALID_PORT: 'a port option is not a port number',
  ERR_INVALID_OPTION: 'an option has a value Portico cannot use',
  ERR_ROOT_NOT_FOUND: 'the folder to serve does not exist',
  ERR_ROOT_NOT_DIRECTORY: 'the folder to serve is not a folder',
  ERR_STATE_DIR_NOT_WRITABLE: 'the state directory cannot be created or written',
  ERR_PORT_IN_USE: 'another process is already listening on the port',
  ERR_PORT_ACCESS: 'the operating system refused the port (privileged port?)',
  ERR_LISTEN_FAILED: 'a listener could not be opened',
  ERR_NO_ROOT_CA: 'the internal root CA has not been created yet',
  ERR_LOCK_TIMEOUT: 'another process held the state directory lock for too long',
  ERR_LOCK_LOST: 'a process lost its storage lock (its lease ran out while it stalled) and was stopped from writing',
  ERR_STATE_WRITE: 'key material could not be written to the state directory',
  ERR_STORAGE_UNREACHABLE: 'the shared certificate storage (Redis) cannot be reached',
  ERR_ISSUANCE_FAILED: 'a certificate could not be issued',
  ERR_ALL_WORKERS_FAILED: 'every worker was stopped by rapid-fail protection',
  ERR_WORKER_SPAWN: 'a worker process could not be started at all',
  ERR_CONFIG_READ: 'the config file cannot be read',
  ERR_NOT_A_FILE: 'a file the configuration names is a device, a FIFO, a folder or a socket, not a regular file',
  ERR_FILE_TOO_LARGE: 'a file the configuration names is larger than such a file can be',
  ERR_CONFIG_SYNTAX: 'the config file is not valid YAML (or JSON)',
  ERR_CONFIG_INVALID: 'a key of the config file is unknown, missing or has a wrong value',
  ERR_CONFIG_CONFLICT: 'two parts of the config file contradict each other (a name, a host, the default site)',
  ERR_CERTIFICATE_FILES: 'a site\'s own certificate or key file is missing, unreadable, mismatched or does not cover its hosts',
  ERR_LOG_DIR: 'an access log folder cannot be created or written',
  ERR_NOT_RUNNING: 'no running Portico was found for this config file',
  ERR_CERTIFICATE_INSTALL: 'portico cert install refused a certificate (wrong key, not valid now, a host missing, a chain that does not verify)',
  ERR_IPC_TIMEOUT: 'a worker or the primary did not answer a request over IPC in time',
  ERR_IPC_GONE: 'the process a request over IPC was sent to exited before it answered',
  ERR_UNKNOWN_CERTIFICATE: 'no certificate of the running configuration has that id',
  ERR_CERTIFICATE_NOT_RENEWABLE: 'a certificate from a site\'s own files cannot be renewed by Portico',
  ERR_TRUST_STORE: 'the root CA could not be added to (or removed from) a trust store',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class PorticoError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PorticoError';
    this.code = code;
  }

  /** What the user is shown: `what is wrong; what to do (CODE)`, one line per thing wrong. */
  userLines(): string[] {
    return [`${this.message} (${this.code})`];
  }
}

export function isPorticoError(error: unknown): error is PorticoError {
  return error instanceof PorticoError;
}

/**
 * The one rendering of a user's error, for every edge that shows one (the CLI's catch, the
 * primary's fatal error and its refused reload): a line per thing wrong, each with its code
 * (a config's problems one by one, PlanError). Anything but a PorticoError is a bug, not the
 * user's: undefined, and the edge decides what to show (a stack trace, exit code 70).
 */
export function userErrorLines(error: unknown): string[] | undefined {
  return isPorticoError(error) ? error.userLines() : undefined;
}

/** The code of a Node.js system error (`ENOENT`, `EADDRINUSE`, ...), if it has one. */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
