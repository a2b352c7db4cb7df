/** The checks both real links make on an outgoing IP packet before it may reach the wire. */
import type { RealLinkCounters } from './stats.js';

/**
 * Why `packet` must not be sent on a link of this family and MTU ('wrongFamily', 'malformed',
 * 'tooBig': the drop reasons in stats()), or null when it may. Only the fixed header is looked
 * at: the stack built the packet, this guards against a caller mixing up links.
 */
export function outgoingDropReason(packet: Uint8Array, family: 4 | 6, mtu: number): 'wrongFamily' | 'malformed' | 'tooBig' | null {
  if (packet.length >= 1 && packet[0] >> 4 !== family) return 'wrongFamily';
  if (packet.length < (family === 4 ? 20 : 40)) return 'malformed';
  if (packet.length > mtu) return 'tooBig';
  return null;
}

/** True (and the drop counted, 'closed' first) when a link must not send `packet`. */
export function refuseOutgoing(closed: boolean, packet: Uint8Array, family: 4 | 6, mtu: number, counters: RealLinkCounters): boolean {
  const why = closed ? 'closed' : outgoingDropReason(packet, family, mtu);
  if (why === null) return false;
  counters.drop(why);
  return true;
}
