/**
 * The OCloudView platform client: what other layers (the CLI, targets) use.
 * Chosen exports, not `export *`: schemas and the request path stay inside.
 */
export { OCloudClient, requireEvent, type OCloudClientOptions, type PageRequest, type PowerOptions } from './client.js';
export { STATUS_TOKEN_REJECTED, type CallOptions, type PasswordSource, type VdiCallLog } from './http.js';
export { powerAndWait, createPoolAndWait, type CreatedPool, type PowerWaitOptions } from './power.js';
export { outcomesError, WANTED_STATUS, type BatchResult, type EventOutcome, type PowerOperation, type VmFailure, type VmOutcome } from './outcomes.js';
export type { WaitOptions } from './waits.js';
export { readPassword, readPasswordFile, PASSWORD_ENV, type PasswordOrigin, type PasswordSources } from './credentials.js';
export { placeDomains, sameUuid, withLibvirtUuid, type IdentityMatch, type PlacedIdentity, type Placement } from './placement.js';
export { DOMAIN_STATUS, describeDomainStatus, type DomainVO, type SpiceKeyVO, type DomainPortVO } from './schemas/domain.js';
export { HOST_STATUS, type HostVO } from './schemas/host.js';
export { POOL_TYPE, type DesktopPoolVO, type PoolCreate } from './schemas/pool.js';
export type { EventVO } from './schemas/event.js';
export type { UserGroupVO, UserListVo } from './schemas/user.js';
export type { PageResult } from './schemas/common.js';
export { allUsers, findGroup, findModel, findPool, findUser, findVms, listNames, usersOf, walkGroups, type UserRow } from './names.js';
