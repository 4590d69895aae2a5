import { errorWithCode } from '../shared/index.js';

/**
 * Cuts a syslog byte stream (TCP, TLS) into messages, per RFC 6587: each
 * frame is either octet-counted (`LEN SP MSG`, the only framing RFC 5425
 * allows over TLS) or ends at LF (non-transparent framing, what most BSD
 * senders do over TCP). The choice is made per frame from its first byte,
 * as RFC 6587 section 3.4 suggests: a digit starts a count, anything else
 * (a syslog message starts with `<`) a line.
 *
 * Memory is bounded by `maxFrameBytes`: an octet-counted frame over it is
 * skipped unread, a line over it is discarded up to its LF; both are
 * reported and the stream stays in step. A count that is not a number is
 * an error: the stream cannot be followed any more and the caller closes
 * the connection.
 */

export interface SyslogFramerOptions {
  /** Largest frame kept (its MSG-LEN, or a line without its LF). */
  maxFrameBytes: number;
  onFrame(frame: Buffer): void;
  /** A frame over the limit was dropped; `bytes` is its length (so far, for a line cut off by the end). */
  onOversize(bytes: number): void;
}

export class SyslogFramingError extends errorWithCode('SYSLOG_FRAMING') {
  override readonly name = 'SyslogFramingError';
}

type State =
  /** Between frames. */
  | 'start'
  /** Reading the digits of MSG-LEN. */
  | 'length'
  /** Reading the `want` bytes of an octet-counted frame. */
  | 'octets'
  /** Skipping the `want` bytes of an octet-counted frame over the limit. */
  | 'skip'
  /** Reading a line up to LF. */
  | 'line'
  /** Dropping the rest of a line over the limit. */
  | 'discard';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const NUL = 0x00;
/** MSG-LEN digits accepted (up to 999,999,999: far beyond any limit, so a long count is garbage). */
const MAX_LENGTH_DIGITS = 9;

export class SyslogFramer {
  private state: State = 'start';
  private parts: Buffer[] = [];
  private have = 0;
  private want = 0;
  private digits = '';

  constructor(private readonly opts: SyslogFramerOptions) {}

  /** Feeds bytes; frames come out through onFrame as they complete. Throws SyslogFramingError. */
  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'start': {
          const b = chunk[i]!;
          if (b === LF || b === CR || b === NUL || b === SP) i++;
          else if (b >= 0x31 && b <= 0x39) this.state = 'length';
          else this.state = 'line';
          break;
        }
        case 'length': {
          const b = chunk[i++]!;
          if (b === SP) {
            const n = Number(this.digits);
            this.digits = '';
            this.want = n;
            this.state = n > this.opts.maxFrameBytes ? 'skip' : 'octets';
            if (n > this.opts.maxFrameBytes) this.opts.onOversize(n);
          } else if (b >= 0x30 && b <= 0x39 && this.digits.length < MAX_LENGTH_DIGITS) {
            this.digits += String.fromCharCode(b);
          } else {
            throw new SyslogFramingError('an octet-counted frame does not start with MSG-LEN and a space');
          }
          break;
        }
        case 'octets': {
          const take = Math.min(this.want - this.have, chunk.length - i);
          this.keep(chunk.subarray(i, i + take));
          i += take;
          if (this.have === this.want) this.emit(this.collect());
          break;
        }
        case 'skip': {
          const take = Math.min(this.want, chunk.length - i);
          this.want -= take;
          i += take;
          if (this.want === 0) this.state = 'start';
          break;
        }
        case 'line': {
          const lf = chunk.indexOf(LF, i);
          const end = lf < 0 ? chunk.length : lf;
          if (this.have + (end - i) > this.opts.maxFrameBytes) {
            this.want = this.have + (end - i);
            this.parts = [];
            this.have = 0;
            this.state = 'discard';
            i = end;
            break;
          }
          this.keep(chunk.subarray(i, end));
          i = end;
          if (lf >= 0) {
            i++;
            this.emit(trimCr(this.collect()));
          }
          break;
        }
        case 'discard': {
          const lf = chunk.indexOf(LF, i);
          const end = lf < 0 ? chunk.length : lf;
          this.want += end - i;
          i = end;
          if (lf >= 0) {
            i++;
            this.opts.onOversize(this.want);
            this.want = 0;
            this.state = 'start';
          }
          break;
        }
      }
    }
  }

  /**
   * The stream ended: a line without its LF is still a message (many
   * senders close right after the last one); a cut octet-counted frame is
   * not.
   */
  end(): void {
    if (this.state === 'line' && this.have > 0) this.emit(trimCr(this.collect()));
    else if (this.state === 'discard') this.opts.onOversize(this.want);
    this.state = 'start';
    this.parts = [];
    this.have = 0;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    // A copy: the socket may reuse the chunk's memory.
    this.parts.push(Buffer.from(part));
    this.have += part.length;
  }

  private collect(): Buffer {
    const frame = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.have);
    this.parts = [];
    this.have = 0;
    this.want = 0;
    return frame;
  }

  private emit(frame: Buffer): void {
    this.state = 'start';
    if (frame.length > 0) this.opts.onFrame(frame);
  }
}

function trimCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === CR ? b.subarray(0, b.length - 1) : b;
}
