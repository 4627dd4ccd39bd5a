/**
 * Domain (VM) schemas of the OCloudView contract: DomainVO, the update body,
 * batch power tasks, delete, user binding and display access (SPICE key,
 * ports, VNC password). Hand-written from api-subset.json under the leniency
 * policy of common.ts; vdi-schemas.test.ts checks them against the contract.
 */
import { z } from 'zod';
import { id, opt, optBoolean, optList, optNumber, optString, optTime, statusInt } from './common.js';

/** Domain `status`: 0 shut off, 1 running, 2 suspended, 3 hibernated, 5 operation in progress, 6 upgrading. */
export const DOMAIN_STATUS = { shutOff: 0, running: 1, suspended: 2, hibernated: 3, busy: 5, upgrading: 6 } as const;
export type DomainStatus = number;

const STATUS_NAMES: Readonly<Record<number, string>> = { 0: 'shut off', 1: 'running', 2: 'suspended', 3: 'hibernated', 5: 'operation in progress', 6: 'upgrading' };

/** `1 (running)`; an unknown value is printed as is. */
export function describeDomainStatus(status: number | undefined): string {
  if (status === undefined) return 'unknown';
  const name = STATUS_NAMES[status];
  return name === undefined ? String(status) : `${status} (${name})`;
}

/** `DomainVO`: id, name and status are what the client relies on. */
export const domainSchema = z.looseObject({
  id,
  name: z.string(),
  status: statusInt,
  adminId: optString(),
  adminName: optString(),
  affinityIp: optString(),
  agentVersion: optString(),
  allowMonitor: optNumber(),
  autoJoinDomain: optNumber(),
  bootloader: optString(),
  childCount: optNumber(),
  cloneType: optString(),
  command: optString(),
  connectTime: optTime(),
  cores: optNumber(),
  cpu: optNumber(),
  createTime: optTime(),
  desktopPoolId: optString(),
  disableAlpha: optNumber(),
  disconnectTime: optTime(),
  domainFake: optNumber(),
  freeze: optNumber(),
  gpuType: optString(),
  graphicsCardNum: optNumber(),
  hasSnapshot: optNumber(),
  hideId: optBoolean(),
  hostBiosEnable: optNumber(),
  hostId: optString(),
  hostModelEnable: optNumber(),
  hostName: optString(),
  independDiskCnt: optNumber(),
  ip: optString(),
  isCloneDomain: optNumber(),
  isConnected: opt(statusInt),
  isInner: optBoolean(),
  isModel: optNumber(),
  isRecycle: optNumber(),
  isoPath: optString(),
  lastFreezeTime: optTime(),
  lastSuccessfulHostId: optString(),
  mainboard: optString(),
  memory: optNumber(),
  motherId: optString(),
  motherName: optString(),
  mouseMode: optString(),
  nestedVirtual: optNumber(),
  originalIp: optString(),
  originalMac: optString(),
  osEdition: optString(),
  osName: optString(),
  osType: optString(),
  poolId: optString(),
  poolName: optString(),
  remark: optString(),
  sockets: optNumber(),
  soundcardType: optString(),
  syncTemplate: optString(),
  systemType: optString(),
  threads: optNumber(),
  updateTime: optTime(),
  userId: optString(),
  vgpuType: optString(),
  vmcId: optString(),
  workingGroup: optString(),
});
export type DomainVO = z.output<typeof domainSchema>;

/** Query of `GET /ocloud/v1/domain` (paging added by the walker). */
export const domainQuerySchema = z.strictObject({
  agentVersion: z.string().optional(),
  freeze: z.string().optional(),
  hostId: z.string().optional(),
  isBindUser: z.number().int().optional(),
  isConnected: z.number().int().optional(),
  keyword: z.string().optional(),
  motherId: z.string().optional(),
  osType: z.string().optional(),
  osTypeOrder: z.string().optional(),
  poolId: z.string().optional(),
  status: z.string().optional(),
});
export type DomainQuery = z.input<typeof domainQuerySchema>;

/** `DomainUpdateDto` (PATCH /domain/{id}). */
export const domainUpdateSchema = z.strictObject({
  autoJoinDomain: z.number().int().optional(),
  command: z.string().optional(),
  cores: z.number().int().optional(),
  cpu: z.number().int().optional(),
  disableAlpha: z.number().int().optional(),
  domainFake: z.number().int().optional(),
  gpuType: z.string().optional(),
  graphicsCardNum: z.number().int().optional(),
  hostBiosEnable: z.number().int().optional(),
  hostModelEnable: z.number().int().optional(),
  memory: z.number().int().optional(),
  mouseMode: z.number().int().optional(),
  name: z.string().min(1).optional(),
  nestedVirtual: z.number().int().optional(),
  osType: z.string().optional(),
  remark: z.string().optional(),
  soundcardType: z.string().optional(),
  threads: z.number().int().optional(),
  vgpuType: z.string().optional(),
});
export type DomainUpdate = z.input<typeof domainUpdateSchema>;

/** `DomainBatchTaskDto`: start, close, reboot, suspend, resume. isForce 1 = power off instead of ACPI. */
export const batchTaskSchema = z.strictObject({
  idList: z.array(id).min(1),
  hostId: z.string().optional(),
  isForce: z.union([z.literal(0), z.literal(1)]).optional(),
});
export type BatchTaskBody = z.input<typeof batchTaskSchema>;

/** `ErrorInfo`: one VM a batch did not take. Kept even without a domainId. */
export const errorInfoSchema = z.looseObject({
  domainId: optString(),
  domainName: optString(),
  errorMsg: optString(),
});
export type ErrorInfo = z.output<typeof errorInfoSchema>;

/** `DomainBatchTaskVO`. */
export const batchTaskResultSchema = z.looseObject({
  eventIdList: optList(id),
  errorList: optList(errorInfoSchema),
});
export type BatchTaskVO = z.output<typeof batchTaskResultSchema>;

/** `BatchDelDomainReq` (POST /domain/delete). isRecycle 1 = to the recycle bin. */
export const deleteDomainsSchema = z.strictObject({
  domainIdList: z.array(id).min(1),
  isRecycle: z.union([z.literal(0), z.literal(1)]),
});

/** `DomainBindUserDto` and its answer. */
export const bindUserSchema = z.strictObject({ domainIdList: z.array(id).min(1), userId: id });
export const bindUserResultSchema = z.looseObject({ notBindDomainIdList: optList(z.string()) });
/** `DomainUnbindUserParam`. */
export const unbindUserSchema = z.strictObject({ domainIdList: z.array(id).min(1) });

/** Path parameter of every `/domain/{id}/…` call. */
export const domainIdParams = z.strictObject({ id });
export const vncPasswordParams = z.strictObject({ id, sharePassword: z.string().optional() });

/** `SpiceKeyVO`: `port` arrives as a string; read as a number. */
export const spiceKeySchema = z.looseObject({
  ip: z.string().min(1),
  port: z.union([z.string().regex(/^\d+$/, 'expected a port number'), z.number().int()]).transform(Number),
  key: optString(),
  domainId: optString(),
  hostId: optString(),
  name: optString(),
});
export type SpiceKeyVO = z.output<typeof spiceKeySchema>;

/** `DomainPortVO`: `{type: "vnc"|"spice", value}`. */
export const domainPortSchema = z.looseObject({ type: z.string(), value: z.number().int() });
export type DomainPortVO = z.output<typeof domainPortSchema>;

/** `DomainGetVncPasswordVO`: changes on every call (fetch once per connection). */
export const vncPasswordSchema = z.looseObject({ password: z.string() });
