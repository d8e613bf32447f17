import { type ErrorCode, PorticoError } from '../errors.js';

/**
 * One thing wrong with what the user gave, found by validation: where (`--https` for a flag,
 * `sites[0].root` for a config file), what is wrong and what to do, and the code to look up.
 * Validation collects every problem; the edge (the CLI) renders them all at once.
 */
export interface Problem {
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
}

export function renderProblem(problem: Problem): string {
  return problem.path ? `${problem.path} ${problem.problem}` : problem.problem;
}
