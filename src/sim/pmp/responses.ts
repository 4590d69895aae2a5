import type { PmpSimAccount, PmpSimCustomField, PmpSimData, PmpSimResource } from './sim-data.js';

/**
 * Every answer body the simulator can give, built once at start
 * (pure; no I/O). Shapes follow shared/reference/pmp-api.md; each variant
 * reproduces one family of real builds:
 * - `pmp-new`: current PMP (ACCOUNT_DESCRIPTION, RESOURCE PASSWORD POLICY,
 *   command-control keys); access-controlled accounts answer Failed.
 * - `pmp-old`: PMP before ~10xxx (PASSWORD POLICY, resource-level
 *   CUSTOM FIELD array, no ACCOUNT_DESCRIPTION); access-controlled accounts
 *   answer Success with "[Request]".
 * - `pam360`: PAM360 2021–22 (no command-control keys, numeric
 *   result.statusCode); access-controlled accounts answer Failed.
 */

export type PmpVariant = 'pmp-new' | 'pmp-old' | 'pam360';
export const PMP_VARIANTS: readonly PmpVariant[] = ['pmp-new', 'pmp-old', 'pam360'];

/** Operation names as PMP spells them. */
export const OP = {
  auth: 'Authentication',
  resources: 'GET RESOURCES',
  accounts: 'GET RESOURCE ACCOUNTLIST',
  details: 'GET RESOURCE ACCOUNT DETAILS',
  password: 'GET PASSWORD',
  ids: 'GET_RESOURCEACCOUNTID',
  resourceId: 'GET_RESOURCEID',
  resourceTypes: 'GET RESOURCE TYPES',
} as const;

/**
 * Failure messages. The first two were recorded on real servers; the rest
 * are *unconfirmed* wording (the gateway must not depend on them).
 */
export const MSG = {
  badToken: 'API key received is not associated to any user. Authentication failed.',
  badHost: 'User is not allowed to access from this host',
  badOrg: 'The user is not associated with the organization given in orgName',
  resourceNotFound: 'Resource with the given ID does not exist or is not shared to the user',
  accountNotFound: 'Account with the given ID does not exist in the resource',
  resourceNameNotFound: 'Resource with the given name does not exist or is not shared to the user',
  namesNotFound: 'Resource name or account name is invalid',
  namesMissing: 'RESOURCENAME and ACCOUNTNAME are mandatory',
  ticketRequired: 'Ticket ID is mandatory to retrieve the password of this account',
  reasonRequired: 'Reason is mandatory to retrieve the password of this account',
  approvalRequired: 'The password of this account is access controlled: request access and get it approved',
  accessDenied: 'You are not authorized to retrieve the password of this account',
  badInputData: 'INPUT_DATA is not valid JSON',
} as const;

export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

export interface CompiledAccount {
  account: PmpSimAccount;
  details: Buffer;
  /** The Success answer with the password, or "[Request]" (pmp-old, access-controlled). */
  password: Buffer;
  /** getResourceIdAccountId answer. */
  ids: Buffer;
}

export interface CompiledResource {
  resource: PmpSimResource;
  accounts: Buffer;
  /** resourcename/{name} answer. */
  resourceId: Buffer;
  byId: Map<string, CompiledAccount>;
  /** Lower-cased account name → account. */
  byName: Map<string, CompiledAccount>;
}

export interface CompiledResponses {
  variant: PmpVariant;
  resourceList: Buffer;
  resourceTypes: Buffer;
  byId: Map<string, CompiledResource>;
  /** Lower-cased resource name → resource (PMP names are case-insensitive). */
  byName: Map<string, CompiledResource>;
  /** A Failed envelope for (operation, message), cached. */
  failed(op: string, message: string): Buffer;
}

function result(variant: PmpVariant, status: 'Success' | 'Failed', message: string): Record<string, unknown> {
  // PAM360 adds a numeric statusCode (its value is unconfirmed; clients must not rely on it).
  return variant === 'pam360'
    ? { status, message, statusCode: status === 'Success' ? 200 : 400 }
    : { status, message };
}

function envelope(variant: PmpVariant, name: string, message: string, rest: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ operation: { name, result: result(variant, 'Success', message), ...rest } }));
}

function bool(b: boolean): 'true' | 'false' {
  return b ? 'true' : 'false';
}

function customFieldJson(fields: PmpSimCustomField[]): Array<Record<string, string>> {
  return fields.map((f, i) => ({
    CUSTOMFIELDLABEL: f.label,
    CUSTOMFIELDVALUE: f.value,
    CUSTOMFIELDTYPE: f.type,
    CUSTOMFIELDCOLUMNNAME: `COLUMN_CHAR${i + 1}`,
  }));
}

function autologonList(type: string): string[] {
  const t = type.toLowerCase();
  if (t.includes('windows')) return ['Windows Remote Desktop', 'RDP Console Session'];
  if (t.includes('linux') || t.includes('unix')) return ['SSH', 'Telnet'];
  return [];
}

function accountListEntry(variant: PmpVariant, r: PmpSimResource, a: PmpSimAccount): Record<string, unknown> {
  const e: Record<string, unknown> = {
    'ACCOUNT ID': a.id,
    'ACCOUNT NAME': a.name,
    PASSWDID: a.passwdId,
  };
  if (variant !== 'pmp-old') e['ACCOUNT_DESCRIPTION'] = a.notes;
  Object.assign(e, {
    'PASSWORD STATUS': a.accessDenied ? '####' : '****',
    ISFAVPASS: 'false',
    AUTOLOGONLIST: autologonList(r.type),
    AUTOLOGONSTATUS: 'ALLOWED',
    ISREASONREQUIRED: bool(a.reasonRequired),
    IS_TICKETID_REQD: bool(a.ticketIdRequired),
    IS_TICKETID_REQD_MANDATORY: bool(a.ticketIdRequired),
    IS_TICKETID_REQD_ACW: 'false',
    PASSWORDREQUEST_REASON_MANDATORY: bool(a.reasonRequired),
    ISREMOTEAPPONLY: 'false',
    'ACCOUNT PASSWORD POLICY': r.passwordPolicy,
  });
  if (variant === 'pmp-new') {
    e['IS_USER_WITH_COMMAND_CONTROL_ROLE'] = 'false';
    e['IS_COMMAND_CONTROL_CONFIGURED'] = 'false';
  }
  return e;
}

function accountListBody(variant: PmpVariant, r: PmpSimResource): Buffer {
  const d: Record<string, unknown> = {
    'RESOURCE ID': r.id,
    'RESOURCE NAME': r.name,
    'RESOURCE TYPE': r.type,
    'RESOURCE DESCRIPTION': r.description,
    'DNS NAME': r.dnsName,
    'RESOURCE OWNER': r.owner,
    DEPARTMENT: r.department,
    LOCATION: r.location,
    'DOMAIN NAME': r.domainName,
    'RESOURCE URL': r.url,
  };
  if (variant === 'pmp-old') {
    d['PASSWORD POLICY'] = r.passwordPolicy;
    d['CUSTOM FIELD'] = customFieldJson(r.customFields);
  } else {
    d['RESOURCE PASSWORD POLICY'] = r.passwordPolicy;
    d['PASSWORDREQUEST_REASON_MANDATORY'] = 'false';
    if (r.customFields.length > 0) d['CUSTOM FIELD'] = customFieldJson(r.customFields);
  }
  d['ACCOUNT LIST'] = r.accounts.map((a) => accountListEntry(variant, r, a));
  return envelope(variant, OP.accounts, 'Resource details with account list fetched successfully', { Details: d });
}

function detailsBody(variant: PmpVariant, r: PmpSimResource, a: PmpSimAccount): Buffer {
  const d: Record<string, unknown> = {
    DESCRIPTION: a.notes === '' ? 'N/A' : a.notes,
    PASSWDID: a.passwdId,
    'PASSWORD STATUS': a.accessDenied ? '####' : '****',
    'EXPIRY STATUS': 'Valid',
    'PASSWORD POLICY': r.passwordPolicy,
    'COMPLIANT STATUS': 'Compliant',
    'COMPLIANT REASON': '-',
    'LAST ACCESSED TIME': 'N/A',
    'LAST MODIFIED TIME': 'N/A',
    PASSWORDREQUEST_REASON_MANDATORY: bool(a.reasonRequired),
  };
  if (a.customFields.length > 0) d['CUSTOM FIELD'] = customFieldJson(a.customFields);
  return envelope(variant, OP.details, 'Account details fetched successfully', { Details: d });
}

/** The value older servers put in PASSWORD for an access-controlled account. */
export const REQUEST_PLACEHOLDER = '[Request]';

export function compileResponses(data: PmpSimData, variant: PmpVariant): CompiledResponses {
  const byId = new Map<string, CompiledResource>();
  const byName = new Map<string, CompiledResource>();
  for (const r of data.resources) {
    const accById = new Map<string, CompiledAccount>();
    const accByName = new Map<string, CompiledAccount>();
    for (const a of r.accounts) {
      const shown = a.accessControlled ? REQUEST_PLACEHOLDER : a.password;
      const compiled: CompiledAccount = {
        account: a,
        details: detailsBody(variant, r, a),
        password: envelope(variant, OP.password, 'Password fetched successfully', { Details: { PASSWORD: shown } }),
        ids: envelope(
          variant,
          OP.ids,
          'Resource ID and account ID fetched successfully for the given resource name and account name.',
          { Details: { RESOURCEID: r.id, ACCOUNTID: a.id } },
        ),
      };
      accById.set(a.id, compiled);
      accByName.set(a.name.toLowerCase(), compiled);
    }
    const cr: CompiledResource = {
      resource: r,
      accounts: accountListBody(variant, r),
      resourceId: envelope(variant, OP.resourceId, 'Resource ID fetched successfully for the given resource name', {
        Details: { RESOURCEID: r.id },
      }),
      byId: accById,
      byName: accByName,
    };
    byId.set(r.id, cr);
    byName.set(r.name.toLowerCase(), cr);
  }

  const list = data.resources.map((r) => ({
    'RESOURCE ID': r.id,
    'RESOURCE NAME': r.name,
    'RESOURCE DESCRIPTION': r.description,
    'RESOURCE TYPE': r.type,
    NOOFACCOUNTS: String(r.accounts.length),
  }));
  // With no resources PMP sends totalRows 0 and no Details key at all.
  const resourceList = envelope(
    variant,
    OP.resources,
    'Resources fetched successfully',
    list.length === 0 ? { totalRows: 0 } : { totalRows: list.length, Details: list },
  );
  const types = [...new Set(data.resources.map((r) => r.type))].sort();
  const resourceTypes = envelope(variant, OP.resourceTypes, 'Resource types fetched successfully', {
    totalRows: types.length,
    Details: types.map((t) => ({ 'RESOURCE TYPE': t })),
  });

  const failures = new Map<string, Buffer>();
  const failed = (op: string, message: string): Buffer => {
    const key = `${op}\u0000${message}`;
    let body = failures.get(key);
    if (!body) {
      body = Buffer.from(JSON.stringify({ operation: { name: op, result: result(variant, 'Failed', message) } }));
      failures.set(key, body);
    }
    return body;
  };

  return { variant, resourceList, resourceTypes, byId, byName, failed };
}

/**
 * A Success answer built on demand, for what changes while the simulator
 * runs (access requests, rotated passwords): the same envelope as the
 * answers built at start.
 */
export function successAnswer(variant: PmpVariant, operation: string, message: string, rest: Record<string, unknown> = {}): Buffer {
  return envelope(variant, operation, message, rest);
}

/** The password call's Success answer showing `password` (an approved request, a rotated password). */
export function passwordAnswer(variant: PmpVariant, password: string): Buffer {
  return envelope(variant, OP.password, 'Password fetched successfully', { Details: { PASSWORD: password } });
}
