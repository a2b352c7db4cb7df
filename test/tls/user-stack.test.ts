/**
 * packages/cli/src/user-stack.ts without root: option checks happen before any link is opened.
 * (The lab test, user-tcp.test.ts, runs it for real in namespaces.)
 */
import { USER_STACK_EPHEMERAL, UserStackError, openUserClient, parseLinkKind, userListen } from '../../packages/cli/src/user-stack';

describe('user-stack options', () => {
  test('--link: raw (the default) and pcap are accepted, anything else is a bad-option error', () => {
    expect(parseLinkKind(undefined)).toBe('raw');
    expect(parseLinkKind('raw')).toBe('raw');
    expect(parseLinkKind('pcap')).toBe('pcap');
    for (const bad of ['tap', '', 'RAW']) {
      expect(() => parseLinkKind(bad)).toThrow(UserStackError);
      try {
        parseLinkKind(bad);
      } catch (e) {
        expect((e as UserStackError).code).toBe('bad-option');
      }
    }
  });

  test('a client needs an IP address (our stack has no resolver) and valid ports, checked before opening a link', async () => {
    await expect(openUserClient({ link: 'raw', host: 'example.org', port: 443 })).rejects.toMatchObject({ code: 'bad-option' });
    await expect(openUserClient({ link: 'raw', host: '192.0.2.1', port: 0 })).rejects.toMatchObject({ code: 'bad-option' });
    await expect(openUserClient({ link: 'raw', host: '192.0.2.1', port: 443, localPort: 70000 })).rejects.toMatchObject({ code: 'bad-option' });
    await expect(userListen({ link: 'raw', port: 65536 })).rejects.toMatchObject({ code: 'bad-option' });
  });

  test('our ephemeral range sits above Linux default ip_local_port_range (32768-60999)', () => {
    expect(USER_STACK_EPHEMERAL[0]).toBeGreaterThan(60999);
    expect(USER_STACK_EPHEMERAL[1]).toBe(65535);
  });
});
