import type { ServerResponse } from 'node:http';
import { sleep, type Clock } from '../../shared/index.js';
import { JSON_CONTENT_TYPE } from './responses.js';
import { PmpSimError } from './sim-errors.js';

/**
 * How the simulator writes an answer: the pages of PMP's servlet container
 * for what the API does not answer itself, and the configured latency
 * before every PMP answer.
 */

export const HTML_CONTENT_TYPE = 'text/html;charset=utf-8';
// Tomcat's plain error page, which is what PMP's container gives for a path it does not map.
export const NOT_FOUND_HTML = Buffer.from(
  '<!doctype html><html lang="en"><head><title>HTTP Status 404 – Not Found</title></head>' +
    '<body><h1>HTTP Status 404 – Not Found</h1></body></html>',
);
export const ERROR_500_HTML = Buffer.from(
  '<!doctype html><html lang="en"><head><title>HTTP Status 500 – Internal Server Error</title></head>' +
    '<body><h1>HTTP Status 500 – Internal Server Error</h1></body></html>',
);
export const LOGIN_HTML = Buffer.from(
  '<!DOCTYPE html><html><head><title>ManageEngine Password Manager Pro</title></head>' +
    '<body><form name="login" action="j_security_check" method="post"></form></body></html>',
);
export const EMPTY = Buffer.alloc(0);

export function send(res: ServerResponse, status: number, contentType: string, body: Buffer): void {
  res.writeHead(status, ['Content-Type', contentType, 'Content-Length', String(body.length)]);
  res.end(body);
}

/** `ms` when it is a valid latency, else SIM_FAULT_INVALID. */
export function validLatency(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 600_000) {
    throw new PmpSimError('SIM_FAULT_INVALID', 'ms', 'latency must be an integer number of milliseconds from 0 to 600000');
  }
  return ms;
}

/** Writes PMP's JSON answers after the configured latency (faults and the admin endpoint do not wait). */
export class Answerer {
  private latency: number;

  /** @param closing aborted by close(): a delayed answer is dropped, its connection is being destroyed. */
  constructor(
    private readonly clock: Clock,
    private readonly closing: AbortSignal,
    latencyMs: unknown,
  ) {
    this.latency = validLatency(latencyMs);
  }

  get latencyMs(): number {
    return this.latency;
  }

  /** Validates and sets the latency; returns it. */
  setLatency(ms: unknown): number {
    this.latency = validLatency(ms);
    return this.latency;
  }

  answer(res: ServerResponse, body: Buffer): void {
    if (this.latency === 0) {
      send(res, 200, JSON_CONTENT_TYPE, body);
      return;
    }
    sleep(this.clock, this.latency, this.closing).then(
      () => {
        if (!res.destroyed) send(res, 200, JSON_CONTENT_TYPE, body);
      },
      () => undefined, // closing: the connection is being destroyed anyway
    );
  }
}
