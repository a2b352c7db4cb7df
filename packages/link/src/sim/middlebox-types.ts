import type { SimRandom } from './random.js';

/** Which way a packet crosses a link: 'forward' is from the first node given to connect() to the second. */
export type SimDirection = 'forward' | 'reverse';

export interface MiddleboxContext {
  direction: SimDirection;
  /** Virtual time in ms. */
  now: number;
  /** The link direction's own seeded stream. */
  random: SimRandom;
}

/**
 * A middlebox on a simulated link. It receives each packet entering the link (a buffer the simulator
 * owns: it may rewrite it in place and return it) and returns the packet to pass on, several packets
 * (a split), or null to drop it. It must not keep references to packets it returns.
 */
export type Middlebox = (packet: Uint8Array, ctx: MiddleboxContext) => Uint8Array | Uint8Array[] | null;
