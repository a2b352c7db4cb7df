/** Errors raised by the real (raw-socket and pcap) links, with a code a caller can switch on. */

export const RealLinkErrorCode = {
  /** No root / CAP_NET_RAW: the raw socket or capture could not be opened. */
  permission: 'permission',
  /** The `nft` command is missing, so the kernel's RSTs cannot be suppressed. */
  nftMissing: 'nft-missing',
  /** An nft or sysctl step failed. */
  setupFailed: 'setup-failed',
  /** The address is not configured on any interface of this network namespace. */
  addressNotLocal: 'address-not-local',
  /** The pcap link's address IS owned by the kernel (it would answer ARP and send RSTs too). */
  addressOwnedByKernel: 'address-owned-by-kernel',
  /** The capture device does not exist in this namespace. */
  deviceNotFound: 'device-not-found',
  /** An option is out of range or malformed. */
  badOption: 'bad-option',
  /** The native addon could not be loaded. */
  addonMissing: 'addon-missing',
} as const;
export type RealLinkErrorCode = (typeof RealLinkErrorCode)[keyof typeof RealLinkErrorCode];

export class RealLinkError extends Error {
  constructor(
    readonly code: RealLinkErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RealLinkError';
  }
}
