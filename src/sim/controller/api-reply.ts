import type { ServerResponse } from 'node:http';
import type { ApiError, ApiErrorCode } from './hub-types.js';

/** How the controller's HTTP API answers: JSON bodies, and its errors. */

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: ApiErrorCode, message: string): void {
  const error: ApiError = { code, message, retryable: status >= 500 };
  sendJson(res, status, { error });
}
