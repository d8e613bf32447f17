/**
 * Settles once the event loop has polled for I/O again, after this call, and run what that poll
 * found. The file cache waits for it before answering from memory, which is what makes a
 * change seen through filesystem events exact rather than nearly so:
 *
 * - the kernel queues an inotify event within the write, rename or unlink that caused it, so a
 *   request sent after the change completed finds the event already waiting when its bytes are
 *   read;
 * - libuv handles every descriptor one poll reports before it leaves the poll phase, and Node
 *   delivers a watch event to JavaScript synchronously there;
 * - an immediate runs in the check phase, after the poll phase: the second of two chained
 *   immediates runs after a poll that began once the first had run, so after this call.
 *
 * Callers in one stretch of the loop share a barrier while its first immediate has not run
 * (its poll is still ahead of them); later callers start a new one. Two immediates per loop
 * turn, however many requests wait.
 */
let forming: Promise<void> | undefined;

export function afterNextPoll(): Promise<void> {
  if (forming !== undefined) return forming;
  const barrier = new Promise<void>((resolve) => {
    setImmediate(() => {
      forming = undefined;
      setImmediate(resolve);
    });
  });
  forming = barrier;
  return barrier;
}
