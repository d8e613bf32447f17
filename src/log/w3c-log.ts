import { closeSync, constants, linkSync, openSync, readSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, systemErrorCode } from '../errors.js';
import type { Logger } from './logger.js';
import { type AccessRecord, dateOf, dayFileName, headerBlock, lineWriter, type W3cField } from './w3c-fields.js';

/** Lines are written when this much is buffered, or once a second, whichever comes first. */
const FLUSH_BYTES = 32 * 1024;
export const FLUSH_INTERVAL_MS = 1_000;
/** What is kept while the disk refuses writes (full, gone); older lines are dropped beyond it. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
const DAY_MS = 86_400_000;

export interface W3cLogOptions {
  readonly dir: string;
  readonly fields: readonly W3cField[];
  /** `Portico x.y.z`, for the #Software line. */
  readonly software: string;
  readonly log: Logger;
  /** Injected in tests to cross midnight; Date.now otherwise. */
  readonly now?: () => number;
}

/**
 * One site's W3C Extended access log, as one worker writes it. Every worker appends to the same
 * file, `u_exYYMMDD.log` for the UTC day, opened with O_APPEND: each flush is one write() of whole
 * lines, and the kernel appends each write whole (a regular file's writes are serialised under
 * its inode lock), so lines from different workers never interleave or tear. A day's file is
 * born with its header block: written to a temporary file and linked into place, so no worker
 * can append a line to a file that has no header yet.
 *
 * Writes are synchronous, as nginx's are: a flush of at most 32 KiB into the page cache a second
 * costs microseconds, and a synchronous flush is what makes the last lines survive a SIGTERM.
 */
export class W3cLog {
  private readonly format: (record: AccessRecord) => string;
  private readonly now: () => number;
  private pending = '';
  private pendingDay = '';
  private fd: number | undefined;
  private fdDay = '';
  private readonly timer: NodeJS.Timeout;
  private failingSince = 0;
  private dropped = 0;
  private retired = false;

  constructor(private readonly options: W3cLogOptions) {
    this.format = lineWriter(options.fields);
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  get dir(): string {
    return this.options.dir;
  }

  write(record: AccessRecord): void {
    const day = dateOf(record.endedAt);
    // A line belongs in the file of the day it was written: cross midnight, flush yesterday first.
    if (day !== this.pendingDay && this.pending.length > 0) this.flush();
    this.pendingDay = day;
    this.pending += this.format(record);
    if (this.pending.length >= FLUSH_BYTES || this.retired) this.flush();
  }

  /** Writes what is buffered; on failure keeps it (bounded) and warns, never throws. */
  flush(): void {
    if (this.pending.length === 0) return;
    try {
      const fd = this.open(this.pendingDay);
      writeSync(fd, this.pending);
      this.pending = '';
      if (this.failingSince !== 0) this.options.log.info(`access log ${this.options.dir} is writable again${this.dropped > 0 ? `; ${this.dropped} line(s) were dropped meanwhile` : ''}`);
      this.failingSince = 0;
      this.dropped = 0;
      if (this.retired) this.closeFile();
    } catch (error) {
      this.closeFile();
      this.failed(error);
    }
  }

  /** Closes the file after writing what is buffered; the next line opens it again (logrotate moved it?). */
  reopen(): void {
    this.flush();
    this.closeFile();
  }

  /** No longer in the current configuration: flush now; a late line (an exchange still in flight) is written at once. */
  retire(): void {
    this.retired = true;
    clearInterval(this.timer);
    this.reopen();
  }

  close(): void {
    clearInterval(this.timer);
    this.reopen();
  }

  private open(day: string): number {
    if (this.fd !== undefined && this.fdDay === day) return this.fd;
    this.closeFile();
    const at = Date.parse(`${day}T00:00:00Z`);
    const path = join(this.options.dir, dayFileName(at));
    // Yesterday's last lines may be flushed just after midnight: their file's #Date stays in its day.
    const createdAt = Math.min(Math.max(this.now(), at), at + DAY_MS - 1_000);
    this.fd = openWithHeader(path, headerBlock(this.options.software, this.options.fields, createdAt), this.options.fields);
    this.fdDay = day;
    return this.fd;
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Closing can only fail on a descriptor that is already gone.
    }
    this.fd = undefined;
  }

  private failed(error: unknown): void {
    const now = this.now();
    if (this.failingSince === 0) {
      this.failingSince = now;
      this.options.log.warn(`cannot write the access log in ${this.options.dir}: ${describeError(error)}; keeping up to ${MAX_PENDING_BYTES / 1024 / 1024} MiB of lines and retrying every second`);
    }
    if (this.pending.length > MAX_PENDING_BYTES) {
      const cut = this.pending.indexOf('\n', this.pending.length - MAX_PENDING_BYTES);
      this.dropped += countLines(this.pending.slice(0, cut + 1));
      this.pending = this.pending.slice(cut + 1);
    }
  }
}

/**
 * Opens a day's file for appending, creating it with its header block if it does not exist.
 * A file whose last #Fields line names other fields (the configuration changed) gets a new
 * header block first, as IIS writes one.
 */
function openWithHeader(path: string, header: string, fields: readonly W3cField[]): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
  } catch (error) {
    if (systemErrorCode(error) !== 'ENOENT') throw error;
    const staged = `${path}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(staged, header, { flag: 'wx' });
    try {
      linkSync(staged, path);
    } catch (linkError) {
      // Another worker linked its file first: use that one.
      if (systemErrorCode(linkError) !== 'EEXIST') throw linkError;
    } finally {
      unlinkSync(staged);
    }
    return openSync(path, constants.O_WRONLY | constants.O_APPEND);
  }
  if (lastFields(path) !== fields.join(' ')) writeSync(fd, header);
  return fd;
}

/** The fields the file declares last within its first 64 KiB (where header blocks are, unless the fields changed late in a day). */
function lastFields(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, read).toString('latin1');
    const at = text.lastIndexOf('#Fields: ');
    return at === -1 ? undefined : text.slice(at + 9, text.indexOf('\n', at));
  } finally {
    closeSync(fd);
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}
