/**
 * HKDF (RFC 5869) and the TLS 1.3 key-schedule helpers (RFC 8446 7.1), written over any
 * CryptoProvider's HMAC so both providers share one implementation of the schedule.
 */
import { CryptoError, type CryptoProvider, type HashAlgorithm } from './provider.js';

const textEncoder = new TextEncoder();

/** RFC 5869 2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes. */
export function hkdfExtract(provider: CryptoProvider, alg: HashAlgorithm, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  const key = salt.length === 0 ? new Uint8Array(provider.hashLength(alg)) : salt;
  return provider.hmac(alg, key, ikm);
}

/** RFC 5869 2.3: OKM = first L octets of T(1) | T(2) | ...; L <= 255 * HashLen. */
export function hkdfExpand(provider: CryptoProvider, alg: HashAlgorithm, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const hashLen = provider.hashLength(alg);
  if (!Number.isInteger(length) || length < 0 || length > 255 * hashLen) {
    throw new CryptoError('unsupported', `HKDF-Expand length ${length} out of range (max ${255 * hashLen})`);
  }
  const okm = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  let offset = 0;
  for (let i = 1; offset < length; i++) {
    const input = new Uint8Array(previous.length + info.length + 1);
    input.set(previous, 0);
    input.set(info, previous.length);
    input[input.length - 1] = i;
    previous = provider.hmac(alg, prk, input);
    const take = Math.min(previous.length, length - offset);
    okm.set(previous.subarray(0, take), offset);
    offset += take;
  }
  return okm;
}

/**
 * RFC 8446 7.1: HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret,
 * HkdfLabel, Length) with HkdfLabel = uint16 length || opaque label<7..255> = "tls13 " + Label ||
 * opaque context<0..255>. `label` is given without the "tls13 " prefix (e.g. "key", "c hs traffic").
 */
export function hkdfExpandLabel(
  provider: CryptoProvider,
  alg: HashAlgorithm,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const fullLabel = textEncoder.encode('tls13 ' + label);
  if (fullLabel.length > 255) throw new CryptoError('unsupported', 'HKDF label longer than 255 bytes');
  if (context.length > 255) throw new CryptoError('unsupported', 'HKDF context longer than 255 bytes');
  if (!Number.isInteger(length) || length < 0 || length > 0xffff) {
    throw new CryptoError('unsupported', `HKDF-Expand-Label length ${length} out of range`);
  }
  const hkdfLabel = new Uint8Array(2 + 1 + fullLabel.length + 1 + context.length);
  hkdfLabel[0] = (length >>> 8) & 0xff;
  hkdfLabel[1] = length & 0xff;
  hkdfLabel[2] = fullLabel.length;
  hkdfLabel.set(fullLabel, 3);
  hkdfLabel[3 + fullLabel.length] = context.length;
  hkdfLabel.set(context, 4 + fullLabel.length);
  return hkdfExpand(provider, alg, secret, hkdfLabel, length);
}

/**
 * RFC 8446 7.1: Derive-Secret(Secret, Label, Messages) =
 * HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length).
 * `transcriptHash` is the already computed Transcript-Hash(Messages) (e.g. HashContext.digest()),
 * so the caller keeps one running transcript; for "derived" pass provider.hash(alg, empty).
 */
export function deriveSecret(
  provider: CryptoProvider,
  alg: HashAlgorithm,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(provider, alg, secret, label, transcriptHash, provider.hashLength(alg));
}
