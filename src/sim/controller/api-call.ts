import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { EventStore } from './event-store.js';
import type { EventStreams } from './event-stream.js';
import type { ControllerHub } from './hub.js';

/** What a handler gets: the request, the path's captured groups (still percent-encoded) and the server's parts. */
export interface ApiCall {
  req: IncomingMessage;
  res: ServerResponse;
  args: string[];
  hub: ControllerHub;
  events: EventStore;
  streams: EventStreams;
  log: Logger;
}
