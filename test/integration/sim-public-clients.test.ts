import { request } from 'undici';
import {
  SAMPLE_DATA,
  SAMPLE_TOKEN,
  type PmpSimData,
  type PmpSimulator,
} from '../../src/sim/pmp/index.js';
import { simFixture } from '../helpers/sim-fixture.js';

/**
 * Public clients written against real PMP / PAM360 servers, replayed
 * request by request against the simulator: the same paths, headers, query
 * strings and bodies byte for byte (Python's quoting and str(dict)
 * included), and each client's own success test applied to the answer.
 * The repository and file of each client are named above its tests.
 */

const { agent, sharedSim } = simFixture();

/** An integration token of the kind ManageEngine's XSOAR pack is configured with (APP_TYPE 17). */
const XSOAR_APP_TOKEN = 'xsoar-app-token-0001';
const DATA: PmpSimData = {
  ...SAMPLE_DATA,
  integrations: [
    ...SAMPLE_DATA.integrations,
    { name: 'cortex-xsoar', token: XSOAR_APP_TOKEN, appName: 'Cortex XSOAR', appType: '17', allowedHosts: ['localhost'], orgName: null, orgNames: [] },
  ],
};

/** Python's urllib.parse.quote_plus (what requests and urlencode use for params and form data). */
function quotePlus(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Python's urllib.parse.quote with its default safe "/" (spaces as %20). */
function quote(s: string): string {
  return quotePlus(s).replace(/\+/g, '%20').replace(/%2F/g, '/');
}

async function send(sim: PmpSimulator, method: string, pathAndQuery: string, headers: Record<string, string>, body?: string): Promise<any> {
  const res = await request(sim.url + pathAndQuery, { method: method as 'GET', headers, body, dispatcher: agent });
  expect(res.statusCode).toBe(200);
  return JSON.parse(await res.body.text());
}

let sim: PmpSimulator;
beforeAll(async () => {
  sim = await sharedSim({ data: DATA, variant: 'pam360' });
});

// demisto/content: Packs/ManageEngine_PAM360/Integrations/ManageEnginePAM360/ManageEnginePAM360.py
// (ManageEngine's own Cortex XSOAR pack). Headers APP_AUTHTOKEN + APP_TYPE '17' on every call;
// INPUT_DATA is f'{query}' (a Python dict's repr) in `params` for GET and in `data` (a form) for PUT.
describe('ManageEngine PAM360 pack for Cortex XSOAR (demisto/content)', () => {
  const headers = (token: string): Record<string, string> => ({ APP_AUTHTOKEN: token, APP_TYPE: '17' });

  it.each([
    ['an integration token', XSOAR_APP_TOKEN],
    ["an API user's key", SAMPLE_TOKEN],
  ])('test-module, fetch IDs and password, change the password: with %s', async (_kind, token) => {
    // check_connection + test_module: "ok" only when operation.Details is non-empty.
    const types = await send(sim, 'GET', '/restapi/json/v1/resources/resourcetypes', headers(token));
    expect(types.operation.Details?.length).toBeGreaterThan(0);

    // fetch_resource_account_id: names in an f-string (requests re-quotes only what it must).
    const ids = await send(sim, 'GET', '/restapi/json/v1/resources/getResourceIdAccountId?RESOURCENAME=Linux_Web_01&ACCOUNTNAME=oracle', headers(token));
    expect(ids.operation.Details).toEqual({ RESOURCEID: '302', ACCOUNTID: '913' });

    // fetch_password: params={'INPUT_DATA': f'{query}'}.
    const query = "{'operation': {'Details': {'REASON': 'Remote console launch', 'TICKETID': 'INC-1042'}}}";
    const pw = await send(sim, 'GET', `/restapi/json/v1/resources/302/accounts/913/password?INPUT_DATA=${quotePlus(query)}`, headers(token));
    expect(pw.operation.result.status).toBe('Success');
    expect(pw.operation.Details.PASSWORD).toBe('Sim-Oracle-Pass!');

    // fetch_resources / fetch_accounts / fetch_account_details: plain GETs.
    expect((await send(sim, 'GET', '/restapi/json/v1/resources', headers(token))).operation.totalRows).toBe(3);
    expect((await send(sim, 'GET', '/restapi/json/v1/resources/302/accounts', headers(token))).operation.Details['ACCOUNT LIST']).toHaveLength(3);
    expect((await send(sim, 'GET', '/restapi/json/v1/resources/302/accounts/913', headers(token))).operation.Details.DESCRIPTION).toBe('DB owner');

    // update_account_password: data={'INPUT_DATA': f'{query}'} (form-encoded by requests).
    const change = "{'operation': {'Details': {'NEWPASSWORD': 'Sim-Oracle-Pass!', 'RESETTYPE': 'LOCAL', 'REASON': 'rotation', 'TICKETID': 'INC-1042'}}}";
    const changed = await send(sim, 'PUT', '/restapi/json/v1/resources/302/accounts/913/password', { ...headers(token), 'Content-Type': 'application/x-www-form-urlencoded' }, `INPUT_DATA=${quotePlus(change)}`);
    expect(changed.operation).toEqual({ name: 'CHANGE PASSWORD', result: { status: 'Success', message: 'Password changed successfully' } });
  });
});

// jpclipffel/ansible_collection.pmp: plugins/lookup/passwordmanagerpro.py (the lookup shipped as
// Ansible's "passwordmanagerpro") and jpclipffel/pmp/plugins/lookup/password.py. The key from
// PMP_AUTHTOKEN (an API user's) goes as ?APP_AUTHTOKEN= with APP_NAME "Ansible" or "ANSIBLE".
describe('Ansible PMP lookups (jpclipffel/ansible_collection.pmp)', () => {
  const json = { 'Content-Type': 'application/json' };

  async function lookup(resourceName: string, accountName: string): Promise<string> {
    const ids = await send(
      sim,
      'GET',
      `/restapi/json/v1/resources/getResourceIdAccountId?APP_AUTHTOKEN=${SAMPLE_TOKEN}&APP_NAME=Ansible&RESOURCENAME=${quote(resourceName)}&ACCOUNTNAME=${quote(accountName)}`,
      json,
    );
    if (!ids.operation.Details) throw new Error(`Password Manager Pro ERROR - ${ids.operation.result.message}`);
    const { RESOURCEID, ACCOUNTID } = ids.operation.Details;
    const answer = await send(sim, 'GET', `/restapi/json/v1/resources/getResourceAccountDetails?APP_AUTHTOKEN=${SAMPLE_TOKEN}&APP_NAME=ANSIBLE&RESOURCEID=${RESOURCEID}&ACCOUNTID=${ACCOUNTID}`, json);
    if (!answer.operation.Details) throw new Error(`Password Manager Pro ERROR - ${answer.operation.result.message}`);
    const accountDetails = JSON.parse(answer.operation.Details.ACCOUNTDETAILS);
    if (accountDetails.PASSWORD_REASON) throw new Error(`Couldn't able to read password from Password Manager Pro : ${accountDetails.PASSWORD_REASON}`);
    return accountDetails.PASSWORD;
  }

  it("'exact' lookups return the password, or raise the server's reason", async () => {
    await expect(lookup('Windows_Jump_Box', 'administrator')).resolves.toBe('Sim-Adm1n-Pass!');
    await expect(lookup('Linux_Web_01', 'deploy')).resolves.toBe('Sim-Deploy-Pass!');
    await expect(lookup('Windows_Jump_Box', 'svc_backup')).rejects.toThrow(/Ticket ID is mandatory/);
    await expect(lookup('No such host', 'root')).rejects.toThrow(/Password Manager Pro ERROR - Resource name or account name is invalid/);
  });

  it("'regex' lookups list the resources first (?APP_AUTHTOKEN=…&APP_NAME=Ansible)", async () => {
    const list = await send(sim, 'GET', `/restapi/json/v1/resources?APP_AUTHTOKEN=${SAMPLE_TOKEN}&APP_NAME=Ansible`, json);
    const match = list.operation.Details.find((r: any) => /^Linux_.*/.test(r['RESOURCE NAME']));
    await expect(lookup(match['RESOURCE NAME'], 'deploy')).resolves.toBe('Sim-Deploy-Pass!');
  });
});

// tristanlatr/pypmp: pypmp/pypmp.py (PyPI "pypmp"). Header AUTHTOKEN with Content-Type text/json;
// names as requests params; the resource ID by name from resources/resourcename/{name}.
describe('pypmp (tristanlatr/pypmp)', () => {
  const headers = { AUTHTOKEN: SAMPLE_TOKEN, 'Content-Type': 'text/json' };

  it('get_password, get_resource_id and get_account_by_name', async () => {
    // get_password = get_account_and_resource_ids + get_account_password.
    const ids = await send(sim, 'GET', `/restapi/json/v1/resources/getResourceIdAccountId?RESOURCENAME=${quotePlus('Windows_Jump_Box')}&ACCOUNTNAME=${quotePlus('auditor')}`, headers);
    expect(ids.operation.result.status).toBe('Success');
    const pw = await send(sim, 'GET', `/restapi/json/v1/resources/${ids.operation.Details.RESOURCEID}/accounts/${ids.operation.Details.ACCOUNTID}/password`, headers);
    // The account wants a reason and pypmp sends none: the client logs the Failed message.
    expect(pw.operation.result).toEqual({ status: 'Failed', message: 'Reason is mandatory to retrieve the password of this account' });

    const rid = await send(sim, 'GET', '/restapi/json/v1/resources/resourcename/Linux_Web_01', headers);
    expect(rid.operation.Details.RESOURCEID).toBe('302');

    const resources = (await send(sim, 'GET', '/restapi/json/v1/resources', headers)).operation.Details;
    const resource = resources.find((r: any) => r['RESOURCE NAME'] === 'Linux_Web_01');
    const accounts = (await send(sim, 'GET', `/restapi/json/v1/resources/${resource['RESOURCE ID']}/accounts`, headers)).operation.Details['ACCOUNT LIST'];
    expect(accounts.find((a: any) => a['ACCOUNT NAME'] === 'deploy')['ACCOUNT ID']).toBe('912');
  });
});

// allamiro/pam360-automation: python/pam360_sync.py. Header AUTHTOKEN with Content-Type
// application/x-www-form-urlencoded; the body urlencode({"INPUT_DATA": json.dumps(data)}).
describe('PAM360 password sync script (allamiro/pam360-automation)', () => {
  const headers = { AUTHTOKEN: SAMPLE_TOKEN, 'Content-Type': 'application/x-www-form-urlencoded' };

  it('finds the resource and account, rotates the password, reads the resource ID by name', async () => {
    const resources = (await send(sim, 'GET', '/restapi/json/v1/resources', headers)).operation.Details ?? [];
    const resourceId = resources.find((r: any) => r['RESOURCE NAME'] === 'Linux_Web_01')?.['RESOURCE ID'];
    expect(resourceId).toBe('302');
    const accounts = (await send(sim, 'GET', `/restapi/json/v1/resources/${resourceId}/accounts`, headers)).operation.Details['ACCOUNT LIST'];
    const accountId = accounts.find((a: any) => a['ACCOUNT NAME'] === 'deploy')['ACCOUNT ID'];
    const data = { operation: { Details: { NEWPASSWORD: 'Rotated-Pa55', RESETTYPE: 'LOCAL', REASON: 'Rotated via Python Script' } } };
    const pythonJsonDumps = JSON.stringify(data).replace(/":/g, '": ').replace(/,"/g, ', "');
    const result = await send(sim, 'PUT', `/restapi/json/v1/resources/${resourceId}/accounts/${accountId}/password`, headers, `INPUT_DATA=${quotePlus(pythonJsonDumps)}`);
    expect(result.operation.result.status).toBe('Success');
    const pw = await send(sim, 'GET', `/restapi/json/v1/resources/${resourceId}/accounts/${accountId}/password`, headers);
    expect(pw.operation.Details.PASSWORD).toBe('Rotated-Pa55');
    const rid = await send(sim, 'GET', '/restapi/json/v1/resources/resourcename/Linux_Web_01', headers);
    expect(rid.operation.Details.RESOURCEID).toBe('302');
  });
});
