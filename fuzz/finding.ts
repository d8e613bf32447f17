import { createHash } from 'node:crypto';

/** What a finding is told with: enough to replay it with one command. */
export interface Finding {
  readonly target: string;
  readonly seed: number;
  /** Which input of the run, counting from 0 (the corpus's files come first, in name order). */
  readonly iteration: number;
  readonly input: Buffer;
  /** Where the input was written. */
  readonly file: string;
  readonly error: string;
}

/** The crash file's name: the input's hash, so the same finding is written once. */
export function findingFile(input: Buffer): string {
  return `crash-${createHash('sha256').update(input).digest('hex').slice(0, 16)}`;
}

/** The report of a finding: what broke, the seed and iteration, the input in hex, and the replay commands. */
export function describeFinding(finding: Finding): string {
  const hex = finding.input.length <= 2048 ? finding.input.toString('hex') : `${finding.input.subarray(0, 2048).toString('hex')}… (${finding.input.length} bytes)`;
  return [
    `FINDING in ${finding.target}: ${finding.error}`,
    `  seed ${finding.seed}, iteration ${finding.iteration}, input (${finding.input.length} bytes, saved to ${finding.file}):`,
    `  ${hex}`,
    `  replay the input:  node dist/fuzz/run.js --replay ${finding.file} ${finding.target}`,
    `  replay the run:    node dist/fuzz/run.js --seed ${finding.seed} --iterations ${finding.iteration + 1} --keep-corpus ${finding.target}`,
  ].join('\n');
}
