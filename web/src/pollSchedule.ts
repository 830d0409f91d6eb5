// How long to wait before asking for a job's state again: often while it moves, less often
// while nothing changes, much less while the server cannot be reached or the tab is hidden.

export const POLL_FASTEST_MS = 2_000;
export const POLL_IDLE_MAX_MS = 15_000;
export const POLL_ERROR_MAX_MS = 60_000;
export const POLL_HIDDEN_MS = 30_000;

export interface PollState {
  delayMs: number;
  failures: number;
}

export const firstPoll: PollState = { delayMs: POLL_FASTEST_MS, failures: 0 };

/** After an answer: back to fast when the job moved, else stretch by half up to the idle cap. */
export function afterAnswer(previous: PollState, changed: boolean): PollState {
  if (changed) return { delayMs: POLL_FASTEST_MS, failures: 0 };
  return { delayMs: Math.min(Math.round(previous.delayMs * 1.5), POLL_IDLE_MAX_MS), failures: 0 };
}

/** After a failed request: double each time up to a minute. */
export function afterFailure(previous: PollState): PollState {
  const failures = previous.failures + 1;
  return { delayMs: Math.min(POLL_FASTEST_MS * 2 ** failures, POLL_ERROR_MAX_MS), failures };
}

/** A hidden tab needs news less often; it catches up as soon as it is shown again. */
export function effectiveDelay(state: PollState, hidden: boolean): number {
  return hidden ? Math.max(state.delayMs, POLL_HIDDEN_MS) : state.delayMs;
}
