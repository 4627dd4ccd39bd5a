/**
 * Session, user and group schemas of the OCloudView contract: the login body
 * and answer, UserListVo, the recursive organisation-unit tree. Hand-written
 * from api-subset.json under the leniency policy of common.ts.
 */
import { z } from 'zod';
import { id, optList, optNumber, optString } from './common.js';

/** `LoginDto`: `password` is the lowercase hex MD5 of the plain password; `client` is "". */
export const loginBodySchema = z.strictObject({
  username: z.string().min(1),
  password: z.string().regex(/^[0-9a-f]{32}$/, 'expected a lowercase hex MD5'),
  client: z.string().optional(),
});

/** `LoginVO`: the token is what the client relies on. */
export const loginResultSchema = z.looseObject({
  token: z.string().min(1),
  username: optString(),
  roleLevel: optString(),
  resourcePri: optNumber(),
  userPri: optNumber(),
});
export type LoginVO = z.output<typeof loginResultSchema>;

/** `UserListVo`: id and sAMAccountName are what the client relies on. */
export const userSchema = z.looseObject({
  id,
  sAMAccountName: z.string(),
  displayName: optString(),
  admins: optString(),
  cn: optString(),
  distinguishedName: optString(),
  domainName: optString(),
  givenName: optString(),
  idNumber: optString(),
  lastLoginTime: optString(),
  mail: optString(),
  mobile: optString(),
  sn: optString(),
});
export type UserListVo = z.output<typeof userSchema>;

/** Query of `GET /ocloud/v1/user`: `group` is an OU's distinguishedName. */
export const userQuerySchema = z.strictObject({
  group: z.string().min(1),
  keyword: z.string().optional(),
  sortOrder: z.string().optional(),
});
export type UserQuery = z.input<typeof userQuerySchema>;

/** `UserGroupVO`: an organisation unit and its children (recursive). */
export interface UserGroupVO {
  id: string;
  ou: string;
  distinguishedName: string;
  parent?: string | undefined;
  ldapOpen?: string | undefined;
  ldapType?: string | undefined;
  list: UserGroupVO[];
  [key: string]: unknown;
}
export const userGroupSchema: z.ZodType<UserGroupVO> = z.looseObject({
  id,
  ou: z.string(),
  distinguishedName: z.string(),
  parent: optString(),
  ldapOpen: optString(),
  ldapType: optString(),
  get list() {
    return optList(userGroupSchema);
  },
});
