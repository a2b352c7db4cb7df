/**
 * Loading the native addons (`raw-socket`, `cap`) with the small slices of their APIs we use.
 * They ship no type declarations; loading them through a computed specifier keeps them optional
 * (a clear RealLinkError instead of an import crash when one is not built) and avoids ambient module
 * declarations that other packages might also write.
 */
import { RealLinkError, RealLinkErrorCode } from './errors.js';

/** raw-socket's native `SocketWrap` (one SOCK_RAW socket, non-blocking, polled by libuv). */
export interface RawSocketWrap {
  on(event: 'recvReady' | 'sendReady' | 'close', fn: () => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  removeAllListeners(event?: string): void;
  /** recvfrom() once; throws on error (EAGAIN included); the callback runs synchronously. */
  recv(buffer: Buffer, cb: (buffer: Buffer, bytes: number, source: string) => void): void;
  /** sendto() once; throws on error; the callback runs synchronously with the byte count. */
  send(buffer: Buffer, offset: number, length: number, address: string, cb: (bytes: number) => void): void;
  setOption(level: number, option: number, value: number): void;
  pause(recvPaused: boolean, sendPaused: boolean): void;
  close(): void;
}

/** raw-socket's JS `Socket` (we only use it to construct the wrap with the right family). */
export interface RawSocket {
  wrap: RawSocketWrap;
  buffer: Buffer;
  close(): void;
}

export interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

/** cap's native `Cap` (libpcap handle in immediate, non-blocking mode). */
export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  send(buffer: Buffer, nBytes?: number): void;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(event?: string): void;
}

export interface CapModule {
  Cap: { new (): CapHandle };
}

async function load(name: string): Promise<unknown> {
  const spec: string = name;
  try {
    const mod = (await import(spec)) as { default?: unknown };
    // Under Node ESM a CommonJS module arrives as `default`; under a CommonJS transform the
    // namespace object already is module.exports (with `default` pointing at it too).
    return mod.default ?? mod;
  } catch (e) {
    throw new RealLinkError(RealLinkErrorCode.addonMissing, `cannot load the '${name}' addon: ${(e as Error).message}`);
  }
}

export async function loadRawSocket(): Promise<RawSocketModule> {
  return (await load('raw-socket')) as RawSocketModule;
}

export async function loadCap(): Promise<CapModule> {
  return (await load('cap')) as CapModule;
}

/** Socket-level constants not exported by raw-socket (Linux values). */
export const SockOpt = {
  SOL_SOCKET: 1,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_SNDBUFFORCE: 32,
  SO_RCVBUFFORCE: 33,
  SO_MARK: 36,
  IPPROTO_IP: 0,
  IP_HDRINCL: 3,
} as const;

/** Whether a native error says "try again later" (EAGAIN / EWOULDBLOCK / ENOBUFS). */
export function isTryAgain(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /temporarily unavailable|would block|No buffer space/i.test(m);
}

export function isPermissionError(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /not permitted|permission denied|EPERM|EACCES/i.test(m);
}

const failedCaptures: unknown[] = [];

/**
 * cap 0.2.1 leaves a half-open handle behind a failed open(): its close(), also run by its
 * destructor when the object is collected, stops a libuv poll that was never started and aborts
 * the process. Such handles are kept referenced for the life of the process and never closed.
 */
export function keepFailedCapture(cap: CapHandle, buffer: Buffer | null): void {
  failedCaptures.push(cap, buffer);
}
