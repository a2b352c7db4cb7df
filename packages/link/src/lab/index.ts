/**
 * Public API of the namespace lab. Names are listed explicitly, and generic ones get a `Lab`
 * prefix here, so they never collide with the rest of @tcpls/link (the simulator has its own
 * middleboxes, prefixes and rates).
 */
export {
  LabError,
  LabErrorCode,
  TOPOLOGIES as LAB_TOPOLOGIES,
  DEFAULT_PREFIX as LAB_DEFAULT_PREFIX,
  PREFIX_MAX as LAB_PREFIX_MAX,
  STRIP_NAMES as LAB_STRIP_OPTIONS,
  MIDDLEBOX_HELP as LAB_MIDDLEBOX_HELP,
  DELAY_MODES as LAB_DELAY_MODES,
  parseTopology as parseLabTopology,
  parsePrefix as parseLabPrefix,
  parseRate as parseLabRate,
  parseLoss as parseLabLoss,
  parseDelay as parseLabDelay,
  parseMtu as parseLabMtu,
  parseSubnet as parseLabSubnet,
  parseMiddlebox as parseLabMiddlebox,
  parseDelayMode as parseLabDelayMode,
  subnetForPrefix as labSubnetForPrefix,
  middleboxNftLines as labMiddleboxNftLines,
  describeMiddlebox as describeLabMiddlebox,
} from './options.js';
export type {
  Topology as LabTopology,
  LabSubnet,
  MiddleboxRule as LabMiddleboxRule,
  PathShaping as LabPathShaping,
  DelayMode as LabDelayMode,
  LabUpOptions,
} from './options.js';
export { buildPlan as buildLabPlan, ownedNamespacePattern as labNamespacePattern } from './plan.js';
export type { LabPlan, NsRole as LabNsRole } from './plan.js';
export { DelayQueue as LabDelayQueue } from './delay-queue.js';
export type { DelayQueueStats as LabDelayQueueStats } from './delay-queue.js';
export {
  labUp,
  labDown,
  labStatus,
  labMiddlebox,
  labExists,
  readLabState,
  formatLabSummary,
  labStateDir,
  labStateFile,
  delayBridgeScript as labDelayBridgeScript,
  listNamespaces as listLabNamespaces,
  formatRate as formatLabRate,
  LAB_UP_TOOLS,
} from './lab.js';
export type {
  LabState,
  LabNamespaceInfo,
  LabInterfaceInfo,
  LabPathInfo,
  LabBridgeInfo,
  LabDownResult,
  LabStatus,
  LabProgress,
} from './lab.js';
