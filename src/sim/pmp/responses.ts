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
 * - `pam360`: PAM360 as ManageEngine's own integration pack recorded it
 *   (Dec 2021): no ACCOUNT_DESCRIPTION, no PASSWORDREQUEST_REASON_MANDATORY,
 *   no command-control keys, ALLOWOPENURLINBROWSER and NEWSSHTERMINAL beside
 *   the resource's keys; access-controlled accounts answer Failed.
 * No variant sends result.statusCode: no recorded answer has one.
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
  /** Recorded (PAM360's integration pack). */
  changePassword: 'CHANGE PASSWORD',
  /** *(unconfirmed)*: no recorded answer names this operation. */
  legacyDetails: 'GET_RESOURCEACCOUNTDETAILS',
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
  badAppName: 'APP_NAME received is not associated to the application token. Authentication failed.',
  orgRequired: 'The user belongs to several organizations: give the organization in orgName',
  badPaging: 'STARTINDEX and LIMIT must be whole numbers (LIMIT at least 1)',
  badViewType: 'VIEWTYPE is not valid',
  badSearch: 'SEARCHTYPE or SEARCHCOLUMN is not valid',
  idsMissing: 'RESOURCEID and ACCOUNTID are mandatory',
  badResetType: 'RESETTYPE must be LOCAL or REMOTE',
  changeDenied: 'You are not authorized to change the password of this account',
} as const;

/** Success messages that are not bodies built at start. */
export const OK_MSG = {
  /** Recorded (PAM360's integration pack). */
  passwordChanged: 'Password changed successfully',
  /** *(unconfirmed)* */
  legacyDetails: 'Resource and account details fetched successfully',
} as const;

export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** An account's answers; each is built on first use and kept (a generated resource may have 40,000 accounts). */
export interface CompiledAccount {
  readonly account: PmpSimAccount;
  readonly details: Buffer;
  /** The Success answer with the password, or "[Request]" (pmp-old, access-controlled); rebuilt when the password changes. */
  password: Buffer;
  /** getResourceIdAccountId answer. */
  readonly ids: Buffer;
}

export interface CompiledResource {
  resource: PmpSimResource;
  /** The lower-cased organisation, or null (seen from every organisation). */
  org: string | null;
  /** The whole account list answer (built on first use). */
  readonly accounts: Buffer;
  /** For a page of the account list: the Details object up to `"ACCOUNT LIST":[`, and each account's JSON. */
  accountListHead: string;
  accountEntries: string[];
  /** This resource's JSON in the resource list. */
  listEntry: string;
  /** resourcename/{name} answer. */
  resourceId: Buffer;
  byId: Map<string, CompiledAccount>;
  /** Lower-cased account name → account. */
  byName: Map<string, CompiledAccount>;
}

export interface CompiledResponses {
  variant: PmpVariant;
  /** In data order. */
  resources: CompiledResource[];
  /** The whole resource list as seen from an organisation (null: every resource), built once per organisation. */
  resourceList(org: string | null): Buffer;
  resourceTypes: Buffer;
  byId: Map<string, CompiledResource>;
  /** Lower-cased resource name → resource (PMP names are case-insensitive). */
  byName: Map<string, CompiledResource>;
  /** A Failed envelope for (operation, message), cached. */
  failed(op: string, message: string): Buffer;
}

/** A Success envelope; every answer of every variant has this shape. */
export function envelope(name: string, message: string, rest: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ operation: { name, result: { status: 'Success', message }, ...rest } }));
}

/** `{"operation":{"name":…,"result":{…},` — the start of a Success envelope written by hand (pages). */
export function envelopeHead(name: string, message: string): string {
  return `{"operation":{"name":${JSON.stringify(name)},"result":${JSON.stringify({ status: 'Success', message })},`;
}

const ACCOUNT_LIST_MSG = 'Resource details with account list fetched successfully';
const RESOURCE_LIST_MSG = 'Resources fetched successfully';

/** A resource list answer from entries already in JSON; no Details key at all when there are none (as PMP). */
export function resourceListBody(entries: readonly string[], totalRows: number): Buffer {
  const details = entries.length === 0 ? '' : `,"Details":[${entries.join(',')}]`;
  return Buffer.from(`${envelopeHead(OP.resources, RESOURCE_LIST_MSG)}"totalRows":${totalRows}${details}}}`);
}

/** An account list answer from its pieces; `totalRows` only on a page. */
export function accountListBody(cr: CompiledResource, entries: readonly string[], totalRows?: number): Buffer {
  const rows = totalRows === undefined ? '' : `"totalRows":${totalRows},`;
  return Buffer.from(`${envelopeHead(OP.accounts, ACCOUNT_LIST_MSG)}${rows}"Details":${cr.accountListHead}${entries.join(',')}]}}}`);
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
  if (variant === 'pmp-new') e['ACCOUNT_DESCRIPTION'] = a.notes;
  Object.assign(e, {
    'PASSWORD STATUS': a.accessDenied ? '####' : '****',
    ISFAVPASS: 'false',
    AUTOLOGONLIST: autologonList(r.type),
    AUTOLOGONSTATUS: 'ALLOWED',
    ISREASONREQUIRED: bool(a.reasonRequired),
    IS_TICKETID_REQD: bool(a.ticketIdRequired),
    IS_TICKETID_REQD_MANDATORY: bool(a.ticketIdRequired),
    IS_TICKETID_REQD_ACW: 'false',
  });
  if (variant !== 'pam360') e['PASSWORDREQUEST_REASON_MANDATORY'] = bool(a.reasonRequired);
  Object.assign(e, {
    ISREMOTEAPPONLY: 'false',
    'ACCOUNT PASSWORD POLICY': r.passwordPolicy,
  });
  if (variant === 'pmp-new') {
    e['IS_USER_WITH_COMMAND_CONTROL_ROLE'] = 'false';
    e['IS_COMMAND_CONTROL_CONFIGURED'] = 'false';
  }
  return e;
}

/** The resource's keys in its account list answer, without ACCOUNT LIST. */
function accountListDetails(variant: PmpVariant, r: PmpSimResource): Record<string, unknown> {
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
    if (variant === 'pmp-new') d['PASSWORDREQUEST_REASON_MANDATORY'] = 'false';
    if (r.customFields.length > 0) d['CUSTOM FIELD'] = customFieldJson(r.customFields);
  }
  if (variant === 'pam360') {
    // Where PAM360's recorded answer has them: beside the resource's keys.
    d['ALLOWOPENURLINBROWSER'] = 'true';
    d['NEWSSHTERMINAL'] = 'false';
  }
  return d;
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
  };
  if (variant !== 'pam360') d['PASSWORDREQUEST_REASON_MANDATORY'] = bool(a.reasonRequired);
  if (a.customFields.length > 0) d['CUSTOM FIELD'] = customFieldJson(a.customFields);
  return envelope(OP.details, 'Account details fetched successfully', { Details: d });
}

/** The value older servers put in PASSWORD for an access-controlled account. */
export const REQUEST_PLACEHOLDER = '[Request]';

/** The Success answer to the password call for an account's current password. */
function passwordBody(a: PmpSimAccount): Buffer {
  const shown = a.accessControlled ? REQUEST_PLACEHOLDER : a.password;
  return envelope(OP.password, 'Password fetched successfully', { Details: { PASSWORD: shown } });
}

/** Stores a new password for an account and rebuilds the answers that carry it. */
export function storePassword(ca: CompiledAccount, password: string): void {
  ca.account.password = password;
  ca.password = passwordBody(ca.account);
}

class LazyAccount implements CompiledAccount {
  private detailsBody: Buffer | undefined;
  private passwordBody: Buffer | undefined;
  private idsBody: Buffer | undefined;

  constructor(
    readonly account: PmpSimAccount,
    private readonly resource: PmpSimResource,
    private readonly variant: PmpVariant,
  ) {}

  get details(): Buffer {
    return (this.detailsBody ??= detailsBody(this.variant, this.resource, this.account));
  }

  get password(): Buffer {
    return (this.passwordBody ??= passwordBody(this.account));
  }

  set password(body: Buffer) {
    this.passwordBody = body;
  }

  get ids(): Buffer {
    return (this.idsBody ??= envelope(OP.ids, 'Resource ID and account ID fetched successfully for the given resource name and account name.', {
      Details: { RESOURCEID: this.resource.id, ACCOUNTID: this.account.id },
    }));
  }
}

function compileResource(variant: PmpVariant, r: PmpSimResource): CompiledResource {
  const accById = new Map<string, CompiledAccount>();
  const accByName = new Map<string, CompiledAccount>();
  for (const a of r.accounts) {
    const compiled = new LazyAccount(a, r, variant);
    accById.set(a.id, compiled);
    accByName.set(a.name.toLowerCase(), compiled);
  }
  const head = JSON.stringify(accountListDetails(variant, r));
  let whole: Buffer | undefined;
  const cr: CompiledResource = {
    resource: r,
    org: r.orgName === null ? null : r.orgName.trim().toLowerCase(),
    get accounts(): Buffer {
      return (whole ??= accountListBody(cr, cr.accountEntries));
    },
    accountListHead: `${head.slice(0, -1)},"ACCOUNT LIST":[`,
    accountEntries: r.accounts.map((a) => JSON.stringify(accountListEntry(variant, r, a))),
    listEntry: JSON.stringify({
      'RESOURCE ID': r.id,
      'RESOURCE NAME': r.name,
      'RESOURCE DESCRIPTION': r.description,
      'RESOURCE TYPE': r.type,
      NOOFACCOUNTS: String(r.accounts.length),
    }),
    resourceId: envelope(OP.resourceId, 'Resource ID fetched successfully for the given resource name', { Details: { RESOURCEID: r.id } }),
    byId: accById,
    byName: accByName,
  };
  return cr;
}

/** Types every real server knows, whatever its resources; a connection test expects a non-empty list. */
const BUILT_IN_TYPES = ['Linux', 'Windows'];

/** Whether a resource is seen from an organisation (null: a principal outside MSP organisations sees every one). */
export function visibleFrom(cr: CompiledResource, org: string | null): boolean {
  return org === null || cr.org === null || cr.org === org;
}

export function compileResponses(data: PmpSimData, variant: PmpVariant): CompiledResponses {
  const byId = new Map<string, CompiledResource>();
  const byName = new Map<string, CompiledResource>();
  const resources = data.resources.map((r) => {
    const cr = compileResource(variant, r);
    byId.set(r.id, cr);
    byName.set(r.name.toLowerCase(), cr);
    return cr;
  });

  const lists = new Map<string | null, Buffer>();
  const resourceList = (org: string | null): Buffer => {
    let body = lists.get(org);
    if (!body) {
      const entries = resources.filter((cr) => visibleFrom(cr, org)).map((cr) => cr.listEntry);
      body = resourceListBody(entries, entries.length);
      lists.set(org, body);
    }
    return body;
  };
  const types = [...new Set([...BUILT_IN_TYPES, ...data.resources.map((r) => r.type)])].sort();
  const resourceTypes = envelope(OP.resourceTypes, 'Resource types fetched successfully', {
    totalRows: types.length,
    Details: types.map((t) => ({ 'RESOURCE TYPE': t })),
  });

  const failures = new Map<string, Buffer>();
  const failed = (op: string, message: string): Buffer => {
    const key = `${op}\u0000${message}`;
    let body = failures.get(key);
    if (!body) {
      body = Buffer.from(JSON.stringify({ operation: { name: op, result: { status: 'Failed', message } } }));
      failures.set(key, body);
    }
    return body;
  };

  return { variant, resources, resourceList, resourceTypes, byId, byName, failed };
}

/**
 * A Success answer built on demand, for what changes while the simulator
 * runs (access requests, rotated passwords): the same envelope as the
 * answers built at start.
 */
export function successAnswer(operation: string, message: string, rest: Record<string, unknown> = {}): Buffer {
  return envelope(operation, message, rest);
}

/** The password call's Success answer showing `password` (an approved request, a rotated password). */
export function passwordAnswer(password: string): Buffer {
  return envelope(OP.password, 'Password fetched successfully', { Details: { PASSWORD: password } });
}
