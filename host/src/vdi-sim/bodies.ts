/**
 * zod schemas of the request bodies the simulator accepts, with the field
 * names and types of api-subset.json (LoginDto, DeskPoolCreateDto,
 * DeskPoolUpdateDto, DomainBatchTaskDto, BatchDelDomainReq, DomainBindUserDto,
 * DomainUnbindUserParam, DomainUpdateDto). Unknown fields are ignored, as the
 * platform's Java side does; wrong types and missing required fields are not.
 */
import { z } from 'zod';

/** Clones one desk pool may have. */
export const MAX_POOL_AMOUNT = 100;

const int32 = z.number().int().min(-2147483648).max(2147483647);
const oneOf = (values: readonly number[]) => int32.refine((v) => values.includes(v), `must be one of ${values.join(', ')}`);
const idList = (field: string) => z.array(z.string().min(1, `${field} entries must be non-empty ids`)).min(1, 'must list at least one id');

export const loginBody = z.object({
  username: z.string(),
  password: z.string(),
  client: z.string().optional(),
});

const poolName = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters');
const amount = int32.min(1, `must be an integer from 1 to ${MAX_POOL_AMOUNT}`).max(MAX_POOL_AMOUNT, `must be an integer from 1 to ${MAX_POOL_AMOUNT}`);

export const poolCreateBody = z.object({
  name: poolName,
  amount,
  modelId: z.string().min(1, 'must name a model'),
  /** Clone names are `${domainPrefix}-${n}`: libvirt domain names, so a safe alphabet. */
  domainPrefix: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, 'must be 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit')
    .optional(),
  type: oneOf([0, 1, 2]),
  remark: z.string().max(256).optional(),
  classNo: z.string().max(64).optional(),
  forceFreeze: oneOf([0, 1]).optional(),
});

export const poolUpdateBody = z.object({
  name: poolName,
  amount,
  modelId: z.string().min(1, 'must name a model').optional(),
  remark: z.string().max(256).optional(),
});

export const batchTaskBody = z.object({
  idList: idList('idList'),
  hostId: z.string().optional(),
  isForce: oneOf([0, 1]).optional(),
});

export const deleteDomainsBody = z.object({
  domainIdList: idList('domainIdList'),
  isRecycle: oneOf([0, 1]),
});

export const bindUserBody = z.object({
  domainIdList: idList('domainIdList'),
  userId: z.string().min(1, 'must name a user'),
});

export const unbindUserBody = z.object({
  domainIdList: idList('domainIdList'),
});

/** DomainUpdateDto: the simulator applies `name` and `remark`; the hardware fields would change the clone's XML and are refused by name. */
export const domainUpdateBody = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit')
    .optional(),
  remark: z.string().max(256).optional(),
  autoJoinDomain: int32.optional(),
  command: z.string().optional(),
  cores: int32.optional(),
  cpu: int32.optional(),
  disableAlpha: int32.optional(),
  domainFake: int32.optional(),
  gpuType: z.string().optional(),
  graphicsCardNum: int32.optional(),
  hostBiosEnable: int32.optional(),
  hostModelEnable: int32.optional(),
  memory: int32.optional(),
  mouseMode: int32.optional(),
  nestedVirtual: int32.optional(),
  osType: z.string().optional(),
  soundcardType: z.string().optional(),
  threads: int32.optional(),
  vgpuType: z.string().optional(),
});
