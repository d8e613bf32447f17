import { closeSync, constants, fstatSync, ftruncateSync, linkSync, openSync, readSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, systemErrorCode } from '../errors.js';
import type { Logger } from './logger.js';
import { type AccessRecord, dateOf, dayFileName, headerBlock, lineWriter, type W3cField } from './w3c-fields.js';

/** Lines are written when this much is buffered, or once a second, whichever comes first. */
const FLUSH_BYTES = 32 * 1024;
export const FLUSH_INTERVAL_MS = 1_000;
/** What is kept while the disk refuses writes (full, gone); older lines are dropped beyond it. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/** While lines are being dropped, their count is logged at most this often (and when the folder is writable again, and at exit). */
const DROPPED_REPORT_MS = 60_000;
const DAY_MS = 86_400_000;
const LF = 0x0a;

export interface W3cLogOptions {
  readonly dir: string;
  readonly fields: readonly W3cField[];
  /** `Portico x.y.z`, for the #Software line. */
  readonly software: string;
  readonly log: Logger;
  /** Injected in tests to cross midnight; Date.now otherwise. */
  readonly now?: () => number;
  /** Injected in tests to overflow the buffer with a few lines; 4 MiB otherwise. */
  readonly maxPendingBytes?: number;
}

/**
 * One site's W3C Extended access log, as one worker writes it. Every worker appends to the same
 * file, `u_exYYMMDD.log` for the UTC day, opened with O_APPEND: each flush is one write() of whole
 * lines, and the kernel appends each write whole (a regular file's writes are serialised under
 * its inode lock), so lines from different workers never interleave or tear. A day's file is
 * born with its header block: written to a temporary file and linked into place, so no worker
 * can append a line to a file that has no header yet.
 *
 * A disk that fills during a write takes only part of it (a short write, ending wherever the last
 * free block ended): the torn line's written part is taken back off the end of the file and the
 * rest kept, so the file holds whole lines only; lines are counted, never guessed, when the
 * buffer overflows or the worker exits with lines it cannot write.
 *
 * Writes are synchronous, as nginx's are: a flush of at most 32 KiB into the page cache a second
 * costs microseconds, and a synchronous flush is what makes the last lines survive a SIGTERM.
 */
export class W3cLog {
  private readonly format: (record: AccessRecord) => string;
  private readonly now: () => number;
  private readonly maxPendingBytes: number;
  /** Lines not yet written, ASCII only (every value is escaped), so a character is a byte. */
  private pending = '';
  private pendingDay = '';
  /** `pending` starts inside a line whose first part is in the file already (a short write that could not be taken back). */
  private midLine = false;
  private fd: number | undefined;
  private fdDay = '';
  private timer: NodeJS.Timeout | undefined = undefined;
  private failingSince = 0;
  /** Lines dropped and not yet reported, and when the last report was. */
  private dropped = 0;
  private droppedReportedAt = 0;
  private retired = false;

  constructor(private readonly options: W3cLogOptions) {
    this.format = lineWriter(options.fields);
    this.now = options.now ?? Date.now;
    this.maxPendingBytes = options.maxPendingBytes ?? MAX_PENDING_BYTES;
    this.startTimer();
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Nothing buffered: every line so far is in the file (or was counted as dropped). */
  get idle(): boolean {
    return this.pending.length === 0;
  }

  write(record: AccessRecord): void {
    const day = dateOf(record.endedAt);
    // A line belongs in the file of the day it was written: cross midnight, flush yesterday first.
    // While the disk refuses writes, lines stay with the file their failure began in.
    if (day !== this.pendingDay && this.pending.length > 0) this.flush();
    if (this.pending.length === 0) this.pendingDay = day;
    this.pending += this.format(record);
    if (this.pending.length >= FLUSH_BYTES || this.retired) this.flush();
    if (this.failingSince !== 0) this.bound();
  }

  /** Writes what is buffered; on failure keeps it (bounded) and warns, never throws. */
  flush(): void {
    if (this.pending.length === 0) return;
    let fd: number;
    try {
      fd = this.open(this.pendingDay);
    } catch (error) {
      this.closeFile();
      return this.failed(error);
    }
    const data = Buffer.from(this.pending, 'latin1');
    let written = 0;
    try {
      while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    } catch (error) {
      this.keepUnwritten(fd, data, written);
      // The rest of a torn line must go to the same file; otherwise reopen (the folder may be back as a new one).
      if (!this.midLine) this.closeFile();
      return this.failed(error);
    }
    this.pending = '';
    this.midLine = false;
    if (this.failingSince !== 0) this.options.log.info(`access log ${this.options.dir} is writable again${this.dropped > 0 ? `; dropped ${this.dropped} access-log line(s) meanwhile, when the buffer was full` : ''}`);
    this.failingSince = 0;
    this.dropped = 0;
    this.droppedReportedAt = 0;
    if (this.retired) this.stop();
  }

  /** Closes the file after writing what is buffered; the next line opens it again (logrotate moved it?). */
  reopen(): void {
    this.flush();
    if (!this.midLine) this.closeFile();
  }

  /** No longer in the current configuration: flush now; a late line (an exchange still in flight) is written at once. Lines the disk refuses are retried until written. */
  retire(): void {
    this.retired = true;
    this.flush();
    if (this.pending.length === 0) this.stop();
  }

  /** The worker exits: writes what it can; what it cannot is counted and reported, never lost silently. */
  close(): void {
    this.flush();
    if (this.pending.length > 0 || this.dropped > 0) {
      const buffered = countLines(this.pending);
      this.options.log.warn(`cannot write the access log in ${this.options.dir} at exit: dropped ${this.dropped + buffered} access-log line(s) (${buffered} still buffered${this.dropped > 0 ? `, ${this.dropped} when the buffer was full` : ''})`);
      this.pending = '';
      this.dropped = 0;
    }
    this.stop();
  }

  private startTimer(): void {
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.closeFile();
  }

  /**
   * A write failed after `written` bytes. Whole lines written are done; a line the disk cut in
   * two is taken back off the end of the file (ftruncate) when the file still ends with our part
   * of it, so it is written whole later. If another worker appended after it meanwhile, it cannot
   * be: the rest of that line is kept first in line, to complete it on the next try.
   */
  private keepUnwritten(fd: number, data: Buffer, written: number): void {
    const lineEnd = written === 0 ? 0 : data.lastIndexOf(LF, written - 1) + 1;
    const torn = written - lineEnd;
    if (torn > 0 && takeBack(fd, data.subarray(lineEnd, written))) {
      this.pending = this.pending.slice(lineEnd);
      if (lineEnd > 0) this.midLine = false;
      return;
    }
    this.pending = this.pending.slice(written);
    if (written > 0) this.midLine = torn > 0;
  }

  private open(day: string): number {
    if (this.fd !== undefined && (this.fdDay === day || this.midLine)) return this.fd;
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
    // A retired log's late line the disk refused: retried like any other.
    if (this.timer === undefined) this.startTimer();
    if (this.failingSince === 0) {
      this.failingSince = this.now();
      this.options.log.warn(`cannot write the access log in ${this.options.dir}: ${describeError(error)}; keeping up to ${formatBytes(this.maxPendingBytes)} of lines and retrying every second`);
    }
    this.bound();
  }

  /** Past the bound, the oldest whole lines go, counted; the count is logged once a minute while it grows. */
  private bound(): void {
    if (this.pending.length <= this.maxPendingBytes) return;
    // The first line stays if its first part is in the file already: its rest completes it.
    const keepFrom = this.midLine ? this.pending.indexOf('\n') + 1 : 0;
    const cut = this.pending.indexOf('\n', Math.max(keepFrom, this.pending.length - this.maxPendingBytes - 1));
    if (cut === -1) return;
    this.dropped += countLines(this.pending.slice(keepFrom, cut + 1));
    this.pending = this.pending.slice(0, keepFrom) + this.pending.slice(cut + 1);
    const now = this.now();
    if (now - this.droppedReportedAt < DROPPED_REPORT_MS) return;
    this.options.log.warn(`the access log buffer for ${this.options.dir} is full (${formatBytes(this.maxPendingBytes)}): dropped ${this.dropped} access-log line(s), the oldest first${this.droppedReportedAt === 0 ? '; counted again once a minute while it lasts' : ' in the last minute'}`);
    this.droppedReportedAt = now;
    this.dropped = 0;
  }
}

/** Truncates the file by `tail`'s length if the file still ends with exactly those bytes (nobody appended after them). */
function takeBack(fd: number, tail: Buffer): boolean {
  try {
    const size = fstatSync(fd).size;
    if (size < tail.length) return false;
    const end = Buffer.alloc(tail.length);
    if (readSync(fd, end, 0, end.length, size - tail.length) !== end.length || !end.equals(tail)) return false;
    ftruncateSync(fd, size - tail.length);
    return true;
  } catch {
    return false;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}

/**
 * Opens a day's file for appending, creating it with its header block if it does not exist.
 * A file whose last #Fields line names other fields (the configuration changed) gets a new
 * header block first, as IIS writes one: whole, or not at all (a short write is taken back).
 * Opened for reading too, so a torn tail can be checked before it is taken back.
 */
function openWithHeader(path: string, header: string, fields: readonly W3cField[]): number {
  const flags = constants.O_RDWR | constants.O_APPEND;
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (error) {
    if (systemErrorCode(error) !== 'ENOENT') throw error;
    const staged = `${path}.${process.pid}.${Date.now()}.tmp`;
    try {
      writeFileSync(staged, header, { flag: 'wx' });
      try {
        linkSync(staged, path);
      } catch (linkError) {
        // Another worker linked its file first: use that one.
        if (systemErrorCode(linkError) !== 'EEXIST') throw linkError;
      }
    } finally {
      // Also when the disk filled while the header was written: no half-written file stays behind.
      try {
        unlinkSync(staged);
      } catch {
        // It was never created.
      }
    }
    return openSync(path, flags);
  }
  if (lastFields(path) !== fields.join(' ')) {
    const block = Buffer.from(header, 'latin1');
    let written = 0;
    try {
      while (written < block.length) written += writeSync(fd, block, written, block.length - written);
    } catch (error) {
      if (written > 0) takeBack(fd, block.subarray(0, written));
      closeSync(fd);
      throw error;
    }
  }
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
