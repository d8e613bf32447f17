import { type FSWatcher, statfsSync, watch } from 'node:fs';
import { basename, dirname, sep } from 'node:path';
import { systemErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';

/**
 * Filesystems whose every change reaches inotify (statfs(2) magic numbers): ext2/3/4, XFS, Btrfs,
 * tmpfs, overlayfs, ZFS, F2FS, bcachefs, ramfs. Network and FUSE filesystems (NFS, SMB, 9p,
 * sshfs) are left out on purpose: a change made on another machine raises no event here.
 */
const LOCAL_FILESYSTEMS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010, 0xca451a4e, 0x858458f6]);
/** Folders watched per worker at most: the inotify watch limit is shared with the user's other programs. */
const MAX_FOLDERS = 8_192;
/** A folder whose last cached file went stays watched this long: hot entries are re-resolved every second. */
const LINGER_MS = 10_000;
/** After the system's watch limit was hit, new entries are checked with stat for this long. */
const LIMIT_BACKOFF_MS = 60_000;

interface Folder {
  readonly path: string;
  readonly watcher: FSWatcher;
  /** Keys of cached files, by the name in this folder that their path goes through. */
  readonly children: Map<string, Set<string>>;
  keys: number;
  linger: NodeJS.Timeout | undefined;
}

/**
 * Tells the file cache which of its entries a filesystem event may have changed, so a hit needs
 * no stat(). A file is watched through every folder from the site's root down to it: an event
 * in one of them that names the next step of the path (the file rewritten, renamed over,
 * deleted; a folder on the way renamed or deleted) or the folder itself ends the entry. Where
 * events cannot be trusted to arrive (not Linux, a network filesystem, the watch limit reached)
 * `watch` says no, and the cache checks that entry with a stat on each hit, as before.
 */
export class FolderWatch {
  private readonly folders = new Map<string, Folder>();
  private readonly links = new Map<string, Array<readonly [Folder, string]>>();
  private retryAt = 0;

  constructor(
    private readonly changed: (key: string) => void,
    private readonly log?: Logger,
  ) {}

  /** Watches the file at `path` (a real path under `root`) for `key`; false when it cannot be watched. */
  watch(key: string, path: string, root: string): boolean {
    this.forget(key);
    if (!path.startsWith(root + sep)) return false;
    const links: Array<readonly [Folder, string]> = [];
    this.links.set(key, links);
    let step = path;
    for (let folderPath = dirname(path); ; folderPath = dirname(folderPath)) {
      const folder = this.folder(folderPath);
      if (folder === undefined) {
        this.forget(key);
        return false;
      }
      const name = basename(step);
      const keys = folder.children.get(name) ?? new Set<string>();
      folder.children.set(name, keys.add(key));
      folder.keys++;
      clearTimeout(folder.linger);
      folder.linger = undefined;
      links.push([folder, name]);
      if (folderPath === root || folderPath === dirname(folderPath)) return true;
      step = folderPath;
    }
  }

  forget(key: string): void {
    const links = this.links.get(key);
    if (links === undefined) return;
    this.links.delete(key);
    for (const [folder, name] of links) {
      const keys = folder.children.get(name);
      keys?.delete(key);
      if (keys?.size === 0) folder.children.delete(name);
      if (--folder.keys === 0 && this.folders.get(folder.path) === folder) {
        folder.linger = setTimeout(() => this.close(folder), LINGER_MS).unref();
      }
    }
  }

  /** Folders watched now. */
  get size(): number {
    return this.folders.size;
  }

  private folder(path: string): Folder | undefined {
    const known = this.folders.get(path);
    if (known !== undefined) return known;
    if (this.folders.size >= MAX_FOLDERS || Date.now() < this.retryAt || !isLocal(path)) return undefined;
    let watcher: FSWatcher;
    try {
      // Not persistent: a watch must not keep a worker that is stopping alive.
      watcher = watch(path, { persistent: false });
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOSPC' || code === 'EMFILE') {
        this.retryAt = Date.now() + LIMIT_BACKOFF_MS;
        this.log?.warn(`the system's limit of inotify watches is reached (${code}; raise fs.inotify.max_user_watches): files are checked with a stat on each request for a minute`);
      }
      return undefined;
    }
    const folder: Folder = { path, watcher, children: new Map(), keys: 0, linger: undefined };
    watcher.on('change', (_event, name) => this.onEvent(folder, name === null ? undefined : String(name)));
    // A watch that fails (its folder gone) says nothing more: everything under it is forgotten.
    watcher.on('error', () => this.drop(folder));
    this.folders.set(path, folder);
    return folder;
  }

  private onEvent(folder: Folder, name: string | undefined): void {
    // The folder itself renamed or deleted (inotify names it by its own name then), or an event
    // without a name: everything under it may have changed, and the watch may be dead.
    if (name === undefined || name === basename(folder.path)) return this.drop(folder);
    const keys = folder.children.get(name);
    if (keys !== undefined) for (const key of [...keys]) this.changed(key);
  }

  private drop(folder: Folder): void {
    const keys = [...folder.children.values()].flatMap((set) => [...set]);
    this.close(folder);
    for (const key of keys) this.changed(key);
  }

  private close(folder: Folder): void {
    clearTimeout(folder.linger);
    if (this.folders.get(folder.path) === folder) this.folders.delete(folder.path);
    folder.watcher.close();
  }
}

/** Whether changes to files in this folder are sure to raise inotify events here. */
function isLocal(path: string): boolean {
  // inotify is Linux's; elsewhere fs.watch reports changes late or coalesced (macOS's FSEvents).
  if (process.platform !== 'linux' || typeof statfsSync !== 'function') return false;
  try {
    return LOCAL_FILESYSTEMS.has(statfsSync(path).type);
  } catch {
    return false;
  }
}
