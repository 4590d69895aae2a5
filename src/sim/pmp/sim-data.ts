import { readFileSync } from 'node:fs';
import { arr, bool, digits, fail, join, nonEmpty, obj, str, type Obj } from './sim-data-checks.js';
import { validatePrincipals, type PmpSimApiUser, type PmpSimIntegration } from './sim-data-principals.js';

export type { PmpSimApiUser, PmpSimIntegration };
import { PmpSimError } from './sim-errors.js';

/**
 * What the simulator serves: API users and integrations (tokens, where they
 * may call from, their organisations) and resources with their accounts. The JSON data file has this
 * shape; every optional key has the default written beside it.
 * docs/pmp-simulator.md documents the format and the built-in sample.
 */

export interface PmpSimCustomField {
  /** CUSTOMFIELDLABEL. */
  label: string;
  /** CUSTOMFIELDVALUE. Default ''. */
  value: string;
  /** CUSTOMFIELDTYPE. Default 'Character'. */
  type: string;
}

export interface PmpSimAccount {
  /** ACCOUNT ID, digits, unique across the data. */
  id: string;
  /** PASSWDID, digits. Default: the account id. */
  passwdId: string;
  /** ACCOUNT NAME, unique within its resource (case-insensitive). */
  name: string;
  /** The password the password call returns. */
  password: string;
  /** Notes: ACCOUNT_DESCRIPTION and the details call's DESCRIPTION ('' → "N/A"). Default ''. */
  notes: string;
  /** A ticket ID must come with a password fetch. Default false. */
  ticketIdRequired: boolean;
  /** A reason must come with a password fetch. Default false. */
  reasonRequired: boolean;
  /** Under request/approval workflow: the password call never hands the password out. Default false. */
  accessControlled: boolean;
  /** This API user may not read the password (`PASSWORD STATUS` "####"). Default false. */
  accessDenied: boolean;
  /**
   * Exclusive check-out (needs accessControlled): an approved password is
   * checked out to one API user at a time, until check-in or its auto
   * check-in time. Absent (false) unless the data file sets it.
   */
  exclusive?: boolean;
  /** Account custom fields, shown by the details call. Default []. */
  customFields: PmpSimCustomField[];
}

export interface PmpSimResource {
  /** RESOURCE ID, digits, unique. */
  id: string;
  /** RESOURCE NAME, unique (case-insensitive). */
  name: string;
  /** RESOURCE TYPE, e.g. Windows, Linux. */
  type: string;
  /** DNS NAME (host name or IP). Default ''. */
  dnsName: string;
  /** RESOURCE DESCRIPTION. Default ''. */
  description: string;
  /** RESOURCE OWNER. Default 'admin'. */
  owner: string;
  /** DEPARTMENT. Default ''. */
  department: string;
  /** LOCATION. Default ''. */
  location: string;
  /** DOMAIN NAME. Default ''. */
  domainName: string;
  /** RESOURCE URL. Default ''. */
  url: string;
  /** (RESOURCE) PASSWORD POLICY, also each account's policy. Default 'Strong'. */
  passwordPolicy: string;
  /** Resource custom fields (the older builds' resource-level CUSTOM FIELD array). Default []. */
  customFields: PmpSimCustomField[];
  /** The MSP organisation the resource belongs to; null: seen from every organisation (a simulator simplification). Default null. */
  orgName: string | null;
  accounts: PmpSimAccount[];
}

export interface PmpSimData {
  apiUsers: PmpSimApiUser[];
  /** Default []. */
  integrations: PmpSimIntegration[];
  resources: PmpSimResource[];
}

/**
 * The token of the built-in sample's main API user. SIMULATOR-ONLY sample
 * data: it unlocks nothing but a simulator started with the sample set.
 */
export const SAMPLE_TOKEN = 'pmp-sim-token-0001';
/** Sample API user bound to a host nobody calls from (192.0.2.10, TEST-NET-1): every call fails "not allowed from this host". */
export const SAMPLE_TOKEN_WRONG_HOST = 'pmp-sim-token-0002-wrong-host';
/**
 * Sample API user of two MSP organisations, {@link SAMPLE_ORG_NAME} and
 * {@link SAMPLE_ORG_NAME_2}, with no own one: calls must name one in `orgName`.
 */
export const SAMPLE_TOKEN_ORG = 'pmp-sim-token-0003-org';
export const SAMPLE_ORG_NAME = 'Acme Tenant';
export const SAMPLE_ORG_NAME_2 = 'Globex Tenant';
/** Sample API user whose own organisation is {@link SAMPLE_ORG_NAME}: `orgName` is optional. */
export const SAMPLE_TOKEN_ORG_OWN = 'pmp-sim-token-0004-org-own';
/** Sample integration (application) token, for APP_NAME {@link SAMPLE_APP_NAME}, from the local host. */
export const SAMPLE_APP_TOKEN = 'pmp-sim-app-token-0001';
export const SAMPLE_APP_NAME = 'credgw';
/** Sample integration token bound to 192.0.2.10 (TEST-NET-1): "not allowed from this host". */
export const SAMPLE_APP_TOKEN_WRONG_HOST = 'pmp-sim-app-token-0002-wrong-host';

function account(a: Partial<PmpSimAccount> & Pick<PmpSimAccount, 'id' | 'name' | 'password'>): PmpSimAccount {
  return {
    passwdId: a.id,
    notes: '',
    ticketIdRequired: false,
    reasonRequired: false,
    accessControlled: false,
    accessDenied: false,
    customFields: [],
    ...a,
  };
}

function resource(r: Partial<PmpSimResource> & Pick<PmpSimResource, 'id' | 'name' | 'type' | 'accounts'>): PmpSimResource {
  return {
    dnsName: '',
    description: '',
    owner: 'admin',
    department: '',
    location: '',
    domainName: '',
    url: '',
    passwordPolicy: 'Strong',
    customFields: [],
    orgName: null,
    ...r,
  };
}

/**
 * The built-in sample set (simulator-only, fake passwords). One account of
 * each kind; docs/pmp-simulator.md has the table. The demo relies on
 * Windows_Jump_Box (301) / administrator (902).
 */
export const SAMPLE_DATA: PmpSimData = deepFreeze({
  apiUsers: [
    { name: 'credgw-gateway', token: SAMPLE_TOKEN, allowedHosts: ['127.0.0.1', '::1'], orgName: null, orgNames: [] },
    { name: 'elsewhere', token: SAMPLE_TOKEN_WRONG_HOST, allowedHosts: ['192.0.2.10'], orgName: null, orgNames: [] },
    { name: 'msp-admin', token: SAMPLE_TOKEN_ORG, allowedHosts: ['localhost'], orgName: null, orgNames: [SAMPLE_ORG_NAME, SAMPLE_ORG_NAME_2] },
    { name: 'msp-tenant', token: SAMPLE_TOKEN_ORG_OWN, allowedHosts: ['localhost'], orgName: SAMPLE_ORG_NAME, orgNames: [SAMPLE_ORG_NAME] },
  ],
  integrations: [
    { name: 'credgw-app', token: SAMPLE_APP_TOKEN, appName: SAMPLE_APP_NAME, appType: null, allowedHosts: ['127.0.0.1', '::1'], orgName: null, orgNames: [] },
    { name: 'elsewhere-app', token: SAMPLE_APP_TOKEN_WRONG_HOST, appName: SAMPLE_APP_NAME, appType: null, allowedHosts: ['192.0.2.10'], orgName: null, orgNames: [] },
  ],
  resources: [
    resource({
      id: '301',
      name: 'Windows_Jump_Box',
      type: 'Windows',
      dnsName: '10.1.2.3',
      description: 'Jump host for the data centre',
      department: 'IT Operations',
      location: 'DC1',
      domainName: 'CORP',
      accounts: [
        account({ id: '902', name: 'administrator', password: 'Sim-Adm1n-Pass!', notes: 'Domain admin for the jump box' }),
        account({ id: '903', name: 'svc_backup', password: 'Sim-Backup-Pass!', notes: 'Backup service; change ticket needed', ticketIdRequired: true }),
        account({ id: '904', name: 'auditor', password: 'Sim-Audit-Pass!', reasonRequired: true }),
        account({ id: '905', name: 'breakglass', password: 'Sim-Breakglass-Pass!', notes: 'Emergency only: approval required', accessControlled: true, exclusive: true }),
      ],
    }),
    resource({
      id: '302',
      name: 'Linux_Web_01',
      type: 'Linux',
      dnsName: 'web01.corp.example',
      description: 'Public web server',
      customFields: [{ label: 'Environment', value: 'production', type: 'Character' }],
      accounts: [
        account({ id: '911', name: 'root', password: 'Sim-Root-Pass!', notes: 'Not shared with the gateway', accessDenied: true }),
        account({ id: '912', passwdId: '1166', name: 'deploy', password: 'Sim-Deploy-Pass!' }),
        account({ id: '913', name: 'oracle', password: 'Sim-Oracle-Pass!', notes: 'DB owner', ticketIdRequired: true, reasonRequired: true, customFields: [{ label: 'SID', value: 'ORCL', type: 'Character' }] }),
      ],
    }),
    resource({ id: '303', name: 'Decommissioned_Host', type: 'Linux', dnsName: '10.1.2.99', accounts: [] }),
  ],
});

/**
 * The sample set plus two resources that only limit tests need: 401
 * "Bulk_Host" with `accounts` generated accounts (IDs from 1000000, names
 * `user00001`…), and 402 "Big_Secret_Host" whose one account (3000000,
 * `bigsecret`) has a password of `passwordChars` characters. Built in code,
 * not in the sample file, so the demo and the docs' table stay small.
 */
export function largeSampleData(o: { accounts: number; passwordChars: number }): PmpSimData {
  const bulk = Array.from({ length: o.accounts }, (_, i) => account({ id: String(1_000_000 + i), name: `user${String(i + 1).padStart(5, '0')}`, password: `Sim-Bulk-${i}` }));
  return {
    apiUsers: SAMPLE_DATA.apiUsers,
    integrations: SAMPLE_DATA.integrations,
    resources: [
      ...SAMPLE_DATA.resources,
      resource({ id: '401', name: 'Bulk_Host', type: 'Linux', accounts: bulk }),
      resource({ id: '402', name: 'Big_Secret_Host', type: 'Linux', accounts: [account({ id: '3000000', name: 'bigsecret', password: 'S'.repeat(o.passwordChars) })] }),
    ],
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Reads and validates a data file; every problem names the file and the key path. */
export function loadSimData(file: string): PmpSimData {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PmpSimError('SIM_DATA_UNREADABLE', '', `cannot read simulator data file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PmpSimError('SIM_DATA_UNREADABLE', '', `simulator data file ${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  return validateSimData(raw);
}

function resourceOrg(r: Obj, p: string): string | null {
  const v = r['orgName'];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.trim() === '') fail(join(p, 'orgName'), 'must be a non-empty string or null');
  return v;
}

function customFields(o: Obj, path: string): PmpSimCustomField[] {
  return arr(o, 'customFields', path, false).map((raw, i) => {
    const p = `${join(path, 'customFields')}[${i}]`;
    const f = obj(raw, p, ['label', 'value', 'type']);
    return { label: nonEmpty(f, 'label', p), value: str(f, 'value', p, ''), type: str(f, 'type', p, 'Character') };
  });
}

/** `exclusive` only when the data sets it (the key is absent otherwise); it needs accessControlled. */
function exclusiveFlag(a: Obj, path: string): { exclusive?: boolean } {
  if (a['exclusive'] === undefined) return {};
  const exclusive = bool(a, 'exclusive', path);
  if (exclusive && a['accessControlled'] !== true) fail(join(path, 'exclusive'), 'needs accessControlled: true (exclusive check-out is part of access control)');
  return { exclusive };
}

const RESOURCE_KEYS = [
  'id', 'name', 'type', 'dnsName', 'description', 'owner', 'department', 'location', 'domainName', 'url',
  'passwordPolicy', 'customFields', 'accounts', 'orgName',
] as const;
const ACCOUNT_KEYS = [
  'id', 'passwdId', 'name', 'password', 'notes', 'ticketIdRequired', 'reasonRequired', 'accessControlled',
  'accessDenied', 'customFields', 'exclusive',
] as const;

/**
 * Checks raw data (parsed JSON, or an object built in code) and returns it
 * with every default filled in. Throws PmpSimError SIM_DATA_INVALID naming
 * the first key path at fault.
 */
export function validateSimData(raw: unknown): PmpSimData {
  const root = obj(raw, '', ['apiUsers', 'integrations', 'resources']);
  const { apiUsers, integrations } = validatePrincipals(root);

  const resourceIds = new Set<string>();
  const resourceNames = new Set<string>();
  const accountIds = new Set<string>();
  const resources = arr(root, 'resources', '', true).map((rawRes, i): PmpSimResource => {
    const p = `resources[${i}]`;
    const r = obj(rawRes, p, RESOURCE_KEYS);
    const id = digits(r, 'id', p);
    if (resourceIds.has(id)) fail(join(p, 'id'), `duplicates resource id ${id}`);
    resourceIds.add(id);
    const name = nonEmpty(r, 'name', p);
    if (resourceNames.has(name.toLowerCase())) fail(join(p, 'name'), `duplicates resource name "${name}" (names are case-insensitive)`);
    resourceNames.add(name.toLowerCase());
    const accountNames = new Set<string>();
    const accounts = arr(r, 'accounts', p, true).map((rawAcc, j): PmpSimAccount => {
      const ap = `${p}.accounts[${j}]`;
      const a = obj(rawAcc, ap, ACCOUNT_KEYS);
      const aid = digits(a, 'id', ap);
      if (accountIds.has(aid)) fail(join(ap, 'id'), `duplicates account id ${aid} (account ids are unique across resources)`);
      accountIds.add(aid);
      const aname = nonEmpty(a, 'name', ap);
      if (accountNames.has(aname.toLowerCase())) fail(join(ap, 'name'), `duplicates account name "${aname}" in resource ${id}`);
      accountNames.add(aname.toLowerCase());
      return {
        id: aid,
        passwdId: digits(a, 'passwdId', ap, aid),
        name: aname,
        password: str(a, 'password', ap),
        notes: str(a, 'notes', ap, ''),
        ticketIdRequired: bool(a, 'ticketIdRequired', ap),
        reasonRequired: bool(a, 'reasonRequired', ap),
        accessControlled: bool(a, 'accessControlled', ap),
        accessDenied: bool(a, 'accessDenied', ap),
        customFields: customFields(a, ap),
        ...exclusiveFlag(a, ap),
      };
    });
    return {
      id,
      name,
      type: nonEmpty(r, 'type', p),
      dnsName: str(r, 'dnsName', p, ''),
      description: str(r, 'description', p, ''),
      owner: str(r, 'owner', p, 'admin'),
      department: str(r, 'department', p, ''),
      location: str(r, 'location', p, ''),
      domainName: str(r, 'domainName', p, ''),
      url: str(r, 'url', p, ''),
      passwordPolicy: str(r, 'passwordPolicy', p, 'Strong'),
      customFields: customFields(r, p),
      orgName: resourceOrg(r, p),
      accounts,
    };
  });
  return { apiUsers, integrations, resources };
}
