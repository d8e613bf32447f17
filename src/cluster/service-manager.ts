import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, PorticoError, systemErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';

/**
 * How Portico meets whoever runs it: systemd's readiness notification, and the pid file that
 * `portico reload --config FILE` uses to find the primary serving that file.
 */

/**
 * Type=notify: READY=1 once every listener is up and the first certificates are ready. Node has
 * no unix datagram sockets, so systemd-notify sends it; the unit needs NotifyAccess=all (the
 * message comes from that child, which names the primary with --pid).
 */
export function notifyReady(log: Logger): void {
  if (!process.env.NOTIFY_SOCKET) return;
  execFile('systemd-notify', ['--ready', `--pid=${process.pid}`, '--status=serving'], (error) => {
    if (error) log.warn(`could not tell the service manager Portico is ready (systemd-notify: ${describeError(error)}); install systemd's systemd-notify, or use Type=simple`);
  });
}

/** One pid file per config file, so several Portico instances can share a state folder. */
export function pidFilePath(stateDir: string, configFile: string): string {
  return join(stateDir, 'run', `portico-${createHash('sha256').update(configFile).digest('hex').slice(0, 16)}.pid`);
}

export function writePidFile(stateDir: string, configFile: string, log: Logger): string | undefined {
  const path = pidFilePath(stateDir, configFile);
  try {
    mkdirSync(join(stateDir, 'run'), { recursive: true, mode: 0o700 });
    writeFileSync(`${path}.tmp`, `${process.pid}\n`, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    return path;
  } catch (error) {
    log.warn(`could not write the pid file ${path} (${describeError(error)}); portico reload will not find this instance, send SIGHUP to pid ${process.pid} instead`);
    return undefined;
  }
}

export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}

/** The pid of the primary serving a config file, checked to be alive. */
export function findPrimary(stateDir: string, configFile: string): number {
  const path = pidFilePath(stateDir, configFile);
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch (error) {
    throw new PorticoError('ERR_NOT_RUNNING', `no Portico is serving ${configFile}: ${path} ${systemErrorCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${describeError(error)})`}; start it with portico serve --config ${configFile}`);
  }
  try {
    process.kill(pid, 0);
  } catch {
    throw new PorticoError('ERR_NOT_RUNNING', `no Portico is serving ${configFile}: pid ${pid} from ${path} is not running; start it with portico serve --config ${configFile}`);
  }
  return pid;
}
