import { type ErrorCode, isPorticoError, PorticoError } from '../errors.js';

/**
 * One thing wrong with what the user gave, found by validation: where (`--https` for a flag,
 * `sites[0].root` for a config file), what is wrong and what to do, and the code to look up.
 * Validation collects every problem; the edge (the CLI) renders them all at once.
 */
export interface Problem {
  /** `FILE:LINE:COL` for a config file; absent for a flag. */
  readonly where?: string;
  readonly path: string;
  readonly problem: string;
  readonly code: ErrorCode;
}

/** Every problem found in one validation. Its message is the first problem, rendered. */
export class PlanError extends PorticoError {
  constructor(readonly problems: readonly Problem[]) {
    const [first] = problems;
    super(first?.code ?? 'ERR_INVALID_OPTION', first ? renderProblem(first) : 'invalid');
    this.name = 'PlanError';
  }

  override userLines(): string[] {
    return this.problems.map((problem) => `${renderProblem(problem)} (${problem.code})`);
  }
}

/** `FILE:LINE:COL sites[1].hosts[0]: what is wrong; what to do` for a file; `--http "x" is not a port…` for a flag. */
export function renderProblem(problem: Problem): string {
  if (problem.where !== undefined) return `${problem.where}${problem.path ? ` ${problem.path}` : ''}: ${problem.problem}`;
  return problem.path ? `${problem.path} ${problem.problem}` : problem.problem;
}


/** Reports one problem at a config path (`sites[1].root`); the caller knows where that is in the file. */
export type Report = (path: string, problem: string, code: ErrorCode) => void;

/** A refused file's own code (ERR_NOT_A_FILE, ERR_FILE_TOO_LARGE), else the check's. */
export function codeOf(error: unknown, fallback: ErrorCode): ErrorCode {
  return isPorticoError(error) ? error.code : fallback;
}

/** `sites[1].hosts[0]`, as problems name a place. */
export function renderPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const step of path) text += typeof step === 'number' ? `[${step}]` : text === '' ? String(step) : `.${String(step)}`;
  return text;
}
