/** Errors of the simulator: a code to switch on and a message for people. */
export type SimErrorCode =
  | 'bad-config'
  | 'duplicate-name'
  | 'duplicate-address'
  | 'unknown-node'
  | 'livelock'
  | 'reentrant-run';

export class SimError extends Error {
  constructor(
    readonly code: SimErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SimError';
  }
}
