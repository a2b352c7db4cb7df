/**
 * The JSON-lines event trace of the drivers: one JSON object per line, each with `t` (ms on the
 * session's clock), `conn`, `role` and `event`. Bigints become decimal strings and byte arrays hex,
 * so every record survives JSON.stringify.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export type JsonTrace = (record: Record<string, unknown>) => void;

/** A copy of `v` that JSON.stringify accepts (bigint → string, bytes → hex, undefined fields dropped). */
export function jsonSafe(v: unknown, depth = 0): unknown {
  if (depth > 16) return '[deep]';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex');
  if (v instanceof Error) return { name: v.name, message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) };
  if (Array.isArray(v)) return v.map((x) => jsonSafe(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = jsonSafe(x, depth + 1);
    return o;
  }
  return v;
}

/** A trace that keeps records in memory (tests, the demo). */
export function memoryTrace(): { trace: JsonTrace; records: Record<string, unknown>[]; lines(): string } {
  const records: Record<string, unknown>[] = [];
  return {
    trace: (r) => records.push(jsonSafe(r) as Record<string, unknown>),
    records,
    lines: () => records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''),
  };
}

/** A trace appended to a file, one JSON object per line. `close()` flushes it. */
export function fileTrace(path: string): { trace: JsonTrace; close(): Promise<void> } {
  const ws: WriteStream = createWriteStream(path, { flags: 'a' });
  return {
    trace: (r) => {
      ws.write(JSON.stringify(jsonSafe(r)) + '\n');
    },
    close: () => new Promise<void>((resolve) => ws.end(() => resolve())),
  };
}
