import { createHmac } from 'node:crypto';
import type { Endpoint } from './types.js';

/**
 * RFC 6528 initial sequence number: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * M a 4-microsecond timer, F a keyed hash (here HMAC-SHA-256, first 32 bits). A pure function:
 * the secret and the time are inputs.
 */
export function isnRfc6528(secret: Uint8Array, local: Endpoint, remote: Endpoint, nowMs: number): number {
  const h = createHmac('sha256', secret);
  h.update(`${local.address}|${local.port}|${remote.address}|${remote.port}`);
  const d = h.digest();
  const f = d.readUInt32BE(0);
  const m = Math.floor(nowMs * 250) % 2 ** 32; // 1 ms = 250 ticks of 4 us
  return (f + m) >>> 0;
}
