/**
 * PEM (RFC 7468): textual encapsulation of DER. The decoder is strict (only the base64 alphabet
 * and whitespace between the boundaries, matching labels) and bounded in input size.
 */

export class PemError extends Error {
  constructor(
    readonly code: 'too-large' | 'bad-boundary' | 'bad-base64' | 'none-found',
    message: string,
  ) {
    super(message);
    this.name = 'PemError';
  }
}

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

/** Large enough for a system trust store (Debian's is ~220 KB). */
export const PEM_MAX_INPUT = 8 * 1024 * 1024;

const BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;

/** All PEM blocks in `text`, in order; text outside the blocks is ignored (RFC 7468 2). */
export function decodePem(text: string): PemBlock[] {
  if (text.length > PEM_MAX_INPUT) throw new PemError('too-large', `PEM input over ${PEM_MAX_INPUT} characters`);
  const blocks: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m !== null; m = BEGIN.exec(text)) {
    const label = m[1];
    const endMarker = `-----END ${label}-----`;
    const bodyStart = m.index + m[0].length;
    const end = text.indexOf(endMarker, bodyStart);
    if (end < 0) throw new PemError('bad-boundary', `no "${endMarker}"`);
    const body = text.slice(bodyStart, end);
    if (body.includes('-----')) throw new PemError('bad-boundary', `unexpected boundary inside "${label}"`);
    // RFC 7468 3 allows headers only in legacy encrypted blocks, which we do not support.
    if (body.includes(':')) throw new PemError('bad-base64', `"${label}" has headers (encrypted PEM is not supported)`);
    const b64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new PemError('bad-base64', `"${label}" is not valid base64`);
    const der = new Uint8Array(Buffer.from(b64, 'base64'));
    blocks.push({ label, der });
    BEGIN.lastIndex = end + endMarker.length;
  }
  return blocks;
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
