import { readdir, readFile, readlink } from 'node:fs/promises';

/** Open file descriptors of a process (Linux /proc). */
export async function openDescriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** Open sockets of a process (Linux /proc): its connections, listeners and IPC channel. */
export async function openSockets(pid: number): Promise<number> {
  const names = await readdir(`/proc/${pid}/fd`);
  const targets = await Promise.all(names.map((name) => readlink(`/proc/${pid}/fd/${name}`).catch(() => '')));
  return targets.filter((target) => target.startsWith('socket:')).length;
}

/** CPU time a process has used, user and system, in seconds. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from after the command name, in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
