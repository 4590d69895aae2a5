import { CloseCode } from '../protocol/index.js';
import { LinkError } from './link-errors.js';

/**
 * The failure a close by the peer (or a socket that went away) stands for;
 * `reachedOpen` tells a dial that failed from a connection that ended.
 */
export function failureFromClose(code: number, reason: string, reachedOpen: boolean): LinkError {
  const detail = `closed with ${code}${reason ? ` (${reason.slice(0, 123)})` : ''}`;
  switch (code) {
    case CloseCode.UNAUTHORIZED:
      return new LinkError('UNAUTHORIZED', `controller ${detail}`);
    case CloseCode.UNSUPPORTED_VERSION:
      return new LinkError('VERSION_MISMATCH', `controller ${detail}`);
    case CloseCode.PROTOCOL_ERROR:
      return new LinkError('PROTOCOL_ERROR', `controller ${detail}`);
    case CloseCode.REPLACED:
      return new LinkError('REPLACED', `controller ${detail}`);
    default:
      return new LinkError(reachedOpen ? 'CLOSED' : 'CONNECT_FAILED', `connection ${detail}`);
  }
}
