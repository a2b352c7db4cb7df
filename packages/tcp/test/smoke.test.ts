import { placeholder } from '@tcpls/tcp/wire';
import { sha256 } from '@noble/hashes/sha2.js';
test('jest set-up loads workspace sources and noble', () => {
  expect(placeholder).toBe(1);
  expect(sha256(new Uint8Array(0)).length).toBe(32);
});
