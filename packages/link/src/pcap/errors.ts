/** Errors from the link-layer codecs (Ethernet, ARP, neighbour discovery). */

export type FrameErrorCode = 'truncated' | 'unsupported' | 'malformed' | 'bad-checksum' | 'bad-address';

export class FrameError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}
