import { describe, expect, it } from '@jest/globals';
import { parseSyslog, SyslogFramer, SyslogFramingError } from '../../../src/notices/index.js';

const AUDIT = 'admin: Password_Reset 2026/12/03 10:15:02 Success 10.1.2.3 Windows_Jump_Box:administrator:scheduled';

describe('parseSyslog', () => {
  it('reads an RFC 3164 message as PAM360 sends it, keeping the TAG in the text', () => {
    expect(parseSyslog(`<38>Dec  3 10:15:02 pmp01 ${AUDIT}`)).toEqual({
      format: '3164',
      facility: 4,
      severity: 6,
      timestamp: null,
      bsdTimestamp: 'Dec  3 10:15:02',
      hostname: 'pmp01',
      appName: 'admin',
      msg: AUDIT,
    });
  });

  it('reads an RFC 3164 header without a hostname', () => {
    expect(parseSyslog(`<38>Dec 13 10:15:02 ${AUDIT}`)).toMatchObject({ hostname: null, bsdTimestamp: 'Dec 13 10:15:02', appName: 'admin', msg: AUDIT });
    expect(parseSyslog('<13>Dec 13 10:15:02 sshd[42]: hello')).toMatchObject({ hostname: null, appName: 'sshd', msg: 'sshd[42]: hello' });
  });

  it('reads an RFC 3339 time in a 3164 header, and a message without any header', () => {
    expect(parseSyslog(`<38>2026-12-03T10:15:02+01:00 pmp01 ${AUDIT}`)).toMatchObject({ timestamp: '2026-12-03T09:15:02.000Z', hostname: 'pmp01', msg: AUDIT });
    expect(parseSyslog(AUDIT)).toMatchObject({ format: '3164', facility: null, severity: null, hostname: null, msg: AUDIT });
    expect(parseSyslog('<999>x')).toMatchObject({ facility: null, msg: '<999>x' });
  });

  it('reads RFC 5424, with and without structured data and BOM', () => {
    expect(parseSyslog(`<38>1 2026-12-03T10:15:02.120Z pmp01 PAM360 - AUDIT - ${AUDIT}`)).toEqual({
      format: '5424',
      facility: 4,
      severity: 6,
      timestamp: '2026-12-03T10:15:02.120Z',
      bsdTimestamp: null,
      hostname: 'pmp01',
      appName: 'PAM360',
      msg: AUDIT,
    });
    const sd = '[origin ip="10.1.2.3"][meta x="a \\"quoted\\] ]" y="z"]';
    expect(parseSyslog(`<38>1 - - - - - ${sd} \ufeff${AUDIT}`)).toMatchObject({ timestamp: null, hostname: null, appName: null, msg: AUDIT });
    expect(parseSyslog('<38>1 2026-12-03T10:15:02Z h a p m -')).toMatchObject({ msg: '' });
  });
});

function framer(max = 64) {
  const frames: string[] = [];
  const oversize: number[] = [];
  const f = new SyslogFramer({ maxFrameBytes: max, onFrame: (b) => frames.push(b.toString()), onOversize: (n) => oversize.push(n) });
  return { f, frames, oversize };
}

/** The same bytes fed whole, in two at every split point, and byte by byte, must give the same frames. */
function everyWay(input: string, max = 64): { frames: string[]; oversize: number[] } {
  const bytes = Buffer.from(input);
  const whole = framer(max);
  whole.f.push(bytes);
  whole.f.end();
  for (let cut = 0; cut <= bytes.length; cut++) {
    const split = framer(max);
    split.f.push(bytes.subarray(0, cut));
    split.f.push(bytes.subarray(cut));
    split.f.end();
    expect(split.frames).toEqual(whole.frames);
    expect(split.oversize).toEqual(whole.oversize);
  }
  const single = framer(max);
  for (const b of bytes) single.f.push(Buffer.from([b]));
  single.f.end();
  expect(single.frames).toEqual(whole.frames);
  expect(single.oversize).toEqual(whole.oversize);
  return { frames: whole.frames, oversize: whole.oversize };
}

describe('SyslogFramer (RFC 6587)', () => {
  it('cuts octet-counted frames, whose text may hold LF', () => {
    const a = '<38>one\nline';
    const b = '<38>two';
    expect(everyWay(`${a.length} ${a}${b.length} ${b}`).frames).toEqual([a, b]);
  });

  it('cuts LF-framed lines, dropping CR and empty lines', () => {
    expect(everyWay('<38>one\r\n\n<38>two\n<38>three').frames).toEqual(['<38>one', '<38>two', '<38>three']);
  });

  it('mixes both framings per frame, and skips LF after an octet-counted frame', () => {
    expect(everyWay('7 <38>abc\n<38>line\n3 <1>').frames).toEqual(['<38>abc', '<38>line', '<1>']);
  });

  it('counts multi-byte characters as bytes', () => {
    const text = '<38>é€';
    expect(everyWay(`${Buffer.byteLength(text)} ${text}`).frames).toEqual([text]);
  });

  it('skips an octet-counted frame over the limit unread and stays in step', () => {
    const big = `<38>${'x'.repeat(100)}`;
    expect(everyWay(`${big.length} ${big}5 <38>y`, 64)).toEqual({ frames: ['<38>y'], oversize: [104] });
  });

  it('drops a line over the limit up to its LF and stays in step', () => {
    expect(everyWay(`<38>${'x'.repeat(100)}\n<38>after\n`, 64)).toEqual({ frames: ['<38>after'], oversize: [104] });
  });

  it('reports a line over the limit cut off by the end of the stream', () => {
    expect(everyWay(`<38>${'x'.repeat(100)}`, 64)).toEqual({ frames: [], oversize: [104] });
  });

  it('takes a frame of exactly the limit', () => {
    const text = `<38>${'x'.repeat(60)}`;
    expect(everyWay(`${text.length} ${text}${text}\n`, 64).frames).toEqual([text, text]);
  });

  it('does not deliver a cut octet-counted frame at the end of the stream', () => {
    expect(everyWay('10 <38>abc').frames).toEqual([]);
  });

  it('throws on a count that is not a number, or too long to be one', () => {
    for (const bad of ['12x <38>', '1234567890 <38>']) {
      const { f } = framer();
      expect(() => f.push(Buffer.from(bad))).toThrow(SyslogFramingError);
    }
  });
});
