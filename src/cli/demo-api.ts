import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { CheckInPasswordParams, GetPasswordParams, ListAccountsParams } from '../protocol/index.js';
import { CredgwError } from '../shared/index.js';
import type { ApiError, ClusterEventStats, ClusterSnapshot, CommandResultBody, EventPage } from '../sim/controller/index.js';
import type { AccessRequestView, RotationResult } from '../sim/pmp/index.js';

/**
 * The demo's HTTP clients, each over HTTPS trusting only its server's own
 * certificate: the reference controller's API (docs/reference-controller.md)
 * for the console launch and the events, and the PMP simulator's loopback
 * admin calls (docs/pmp-simulator.md) for what the vault's people do: a
 * scheduled rotation, an approver's decision.
 */

/** As sent on the wire: listAccounts paging is optional there (the gateway fills in the defaults). */
export type ApiCommand =
  | { name: 'listAccounts'; params: Omit<ListAccountsParams, 'offset' | 'limit'> & Partial<ListAccountsParams> }
  | { name: 'getPassword'; params: GetPasswordParams }
  | { name: 'checkInPassword'; params: CheckInPasswordParams };

/** `GET …/events`: a page of a cluster's events and its counts. */
export type EventsAnswer = EventPage & { clusterId: string; oldest: number | null; latest: number | null; counts: Pick<ClusterEventStats, 'held' | 'repeats' | 'dropped'> };

/** A command's answer: a gateway's result (HTTP 200) or the controller's own error. */
export type ApiAnswer =
  | { kind: 'result'; status: 200; body: CommandResultBody }
  | { kind: 'error'; status: number; body: { id?: string; error: ApiError } };

export class DemoApiError extends CredgwError<'CONTROLLER_API_ERROR' | 'SIM_ADMIN_ERROR'> {
  override readonly name = 'DemoApiError';
}

export class ControllerApi {
  private readonly agent: Agent;

  /**
   * @param httpUrl  `https://127.0.0.1:PORT` of the controller.
   * @param caPem    the controller's certificate, the only one trusted.
   */
  constructor(
    readonly httpUrl: string,
    caPem: string,
  ) {
    this.agent = new Agent({ connect: { ca: caPem } });
  }

  /** The cluster's roles, epochs and health; null while no gateway ever joined it (404). */
  async cluster(clusterId: string, signal?: AbortSignal): Promise<ClusterSnapshot | null> {
    const res = await request(`${this.httpUrl}/api/v1/clusters/${encodeURIComponent(clusterId)}`, {
      dispatcher: this.agent,
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new DemoApiError('CONTROLLER_API_ERROR', `GET cluster ${clusterId}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    }
    return (await res.body.json()) as ClusterSnapshot;
  }

  /** Sends a command and waits for its one final answer. */
  async submit(clusterId: string, command: ApiCommand, timeoutMs: number, signal?: AbortSignal): Promise<ApiAnswer> {
    const res = await request(`${this.httpUrl}/api/v1/clusters/${encodeURIComponent(clusterId)}/commands`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `demo-${randomUUID()}`, name: command.name, params: command.params, timeoutMs }),
      ...(signal ? { signal } : {}),
    });
    let body: unknown;
    try {
      body = await res.body.json();
    } catch (err) {
      throw new DemoApiError('CONTROLLER_API_ERROR', `POST ${command.name}: HTTP ${res.statusCode} with a body that is not JSON`, { cause: err });
    }
    return (res.statusCode === 200 ? { kind: 'result', status: 200, body } : { kind: 'error', status: res.statusCode, body }) as ApiAnswer;
  }

  /** The cluster's stored events (the first page: the demo stores a few). */
  async events(clusterId: string, signal?: AbortSignal): Promise<EventsAnswer> {
    const res = await request(`${this.httpUrl}/api/v1/clusters/${encodeURIComponent(clusterId)}/events`, {
      dispatcher: this.agent,
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new DemoApiError('CONTROLLER_API_ERROR', `GET events of ${clusterId}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    }
    return (await res.body.json()) as EventsAnswer;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The simulator's loopback admin calls the demo makes. */
export class SimAdmin {
  private readonly agent: Agent;

  /**
   * @param url    `https://127.0.0.1:PORT` of the simulator.
   * @param caPem  the simulator's certificate, the only one trusted.
   */
  constructor(
    readonly url: string,
    caPem: string,
  ) {
    this.agent = new Agent({ connect: { ca: caPem } });
  }

  /** A scheduled rotation (`POST /__sim/rotate`): the answer says what the vault set off, never a password. */
  rotate(body: { resourceName: string; accountName: string; reason: string }, signal?: AbortSignal): Promise<RotationResult> {
    return this.call<RotationResult>('POST', 'rotate', body, signal);
  }

  /** Every access request, as the simulator shows them. */
  async requests(signal?: AbortSignal): Promise<AccessRequestView[]> {
    return (await this.call<{ requests: AccessRequestView[] }>('GET', 'requests', undefined, signal)).requests;
  }

  /** An approver's Approve of the account's one pending request. */
  async approve(accountId: string, approver: string, signal?: AbortSignal): Promise<AccessRequestView> {
    return (await this.call<{ request: AccessRequestView }>('POST', 'requests/approve', { accountId, approver }, signal)).request;
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined): Promise<T> {
    const res = await request(`${this.url}/__sim/${path}`, {
      method,
      dispatcher: this.agent,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new DemoApiError('SIM_ADMIN_ERROR', `${method} /__sim/${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }
}
