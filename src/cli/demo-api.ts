import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { GetPasswordParams, ListAccountsParams } from '../protocol/index.js';
import { CredgwError } from '../shared/index.js';
import type { ApiError, ClusterSnapshot, CommandResultBody } from '../sim/controller/index.js';

/**
 * The "console launch" side of the demo: the reference controller's HTTP
 * API (docs/reference-controller.md) over HTTPS, trusting only the
 * controller's own certificate.
 */

/** As sent on the wire: listAccounts paging is optional there (the gateway fills in the defaults). */
export type ApiCommand = { name: 'listAccounts'; params: Omit<ListAccountsParams, 'offset' | 'limit'> & Partial<ListAccountsParams> } | { name: 'getPassword'; params: GetPasswordParams };

/** A command's answer: a gateway's result (HTTP 200) or the controller's own error. */
export type ApiAnswer =
  | { kind: 'result'; status: 200; body: CommandResultBody }
  | { kind: 'error'; status: number; body: { id?: string; error: ApiError } };

export class DemoApiError extends CredgwError<'CONTROLLER_API_ERROR'> {
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

  close(): Promise<void> {
    return this.agent.close();
  }
}
