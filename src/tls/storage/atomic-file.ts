import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { describeError, PorticoError } from '../../errors.js';

/**
 * Replaces `path` with `data` so that a reader sees the old whole file or the new whole file,
 * never a mixture or a prefix: write a temporary file beside it, fsync it, rename it over the
 * target, fsync the folder. If any step fails (a full disk, a crash) the old file is untouched
 * — a failed write never replaces good material with a blank one (caddy#4897).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const staged = await stageFile(path, data, mode);
  await staged.commit();
}

/** A file written and fsynced beside its target, not yet renamed over it. */
export interface StagedFile {
  /** Renames it over the target and fsyncs the folder. */
  commit(): Promise<void>;
  /** Deletes it; the target is untouched. */
  discard(): Promise<void>;
}

/**
 * The first half of an atomic write: everything that can fail for lack of space or permission
 * happens here, before any target changes, so several files can be staged and then committed
 * together (all-or-nothing up to the renames).
 */
export async function stageFile(path: string, data: string | Uint8Array, mode: number): Promise<StagedFile> {
  const temporary = `${dirname(path)}/.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const failed = async (error: unknown): Promise<never> => {
    await unlink(temporary).catch(() => undefined);
    throw new PorticoError('ERR_STATE_WRITE', `could not write ${path}: ${describeError(error)}; the previous file, if any, is unchanged`, { cause: error });
  };
  try {
    const file = await open(temporary, 'wx', mode);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    return failed(error);
  }
  return {
    commit: async () => {
      await rename(temporary, path).catch(failed);
      await syncFolder(dirname(path));
    },
    discard: () => unlink(temporary).catch(() => undefined),
  };
}

/** Makes a rename durable: without this a power cut can undo a rename that already returned. */
export async function syncFolder(path: string): Promise<void> {
  const folder = await open(path, 'r');
  try {
    await folder.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await folder.close();
  }
}
