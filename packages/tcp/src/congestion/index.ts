export * from './types.js';
export * from './newreno.js';
export * from './cubic.js';
export * from './hystart.js';
import type { CongestionControlName, CongestionController, CongestionInit } from './types.js';
import { NewReno } from './newreno.js';
import { Cubic } from './cubic.js';

/** Builds a controller by name. A live switch passes the old controller's cwnd and ssthresh. */
export function createCongestionController(name: CongestionControlName, init: CongestionInit): CongestionController {
  switch (name) {
    case 'newreno':
      return new NewReno(init);
    case 'cubic':
      return new Cubic(init);
    default: {
      const n: never = name;
      throw new RangeError(`unknown congestion controller ${String(n)}`);
    }
  }
}
