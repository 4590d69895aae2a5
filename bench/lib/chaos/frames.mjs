// The chaos fuzz's frame generator: a seeded stream of controller → gateway
// frames mixing valid commands with every kind of bad input the protocol
// (shared/design/protocol.md sections 5 and 8) must survive. Each frame
// says what the contract promises for it, so the driver can count what was
// not kept:
//   answerId  the id that must get exactly one result on this connection
//             (null: the frame must get none);
//   violation the frame is a protocol violation (no answer; the 10th in a
//             minute closes the connection with 4000).
// A duplicate of a command that needs the vault is sent right after it, so
// it reaches the gateway while the original is in flight and must join it.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same stream. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The simulator's sample data: resource 301 holds account 902 (plain), 903 (ticket required), 904 (reason required). */
export const SIM_RESOURCE = Object.freeze({ id: 'chaos-resource', customAttributes: { 'PMP Resource ID': '301' } });

const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Recipient keys that must be refused or bounded: bad PEM, too short, not
 * RSA, and public keys whose exponent is as large as their modulus (built
 * from random numbers: a public key is only (n, e), no key generation).
 * Sealing to those with a naive modPow costs seconds of blocked event loop.
 */
export function hostileRecipientKeys() {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
  const big = (bits) => {
    const b = randomBytes(bits / 8);
    b[0] |= 0x80;
    b[b.length - 1] |= 1;
    return new forge.jsbn.BigInteger(b.toString('hex'), 16);
  };
  const hugeExponent = (bits) => forge.pki.publicKeyToPem(forge.pki.setRsaPublicKey(big(bits), big(bits)));
  return {
    cheap: [
      '-----BEGIN PUBLIC KEY-----\nnot base64 at all !!!\n-----END PUBLIC KEY-----\n',
      '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n',
      '-----BEGIN RSA PUBLIC KEY-----\n' + 'A'.repeat(4000) + '\n-----END RSA PUBLIC KEY-----\n',
      rsa1024,
      ec,
      'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== chaos@fuzz',
    ],
    // Expensive to seal naively: their count is capped by the driver (--hostile-keys).
    huge: [hugeExponent(4096), hugeExponent(3072), hugeExponent(2048)],
  };
}

/** A real 2048-bit recipient key: sealing to it is the normal, cheap path. */
export function goodRecipientKey() {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
}

const VIOLATIONS = [
  () => 'not json at all',
  () => '{"type":"command","id":"x",',
  () => '[1,2,3]',
  () => '42',
  () => 'null',
  () => '"a string"',
  () => '{}',
  () => '{"type":"no-such-type","id":"v1"}',
  () => '{"type":17}',
  () => '{"type":"hello","protocol":1}',
  () => '\u0000\u0001\u0002',
  () => '{"type":"command","epoch":1,"name":"listAccounts","params":{}}', // no id
];

/** Ids the contract cannot answer (section 5 rule 1): each is a violation. */
const BAD_IDS = [
  () => '',
  () => 'x'.repeat(129),
  () => 'has space',
  () => 'ünïcödé',
  () => '𝔦𝔡',
  () => 'semi;colon',
  () => 12345,
  () => null,
  () => ['array'],
  () => ({ nested: 'id' }),
  () => 'x'.repeat(100_000),
];

export class ChaosFrames {
  /**
   * @param {{ seed: number, epoch: number, vault: string, keys: { cheap: string[], huge: string[] },
   *           goodKey: string, hugeKeyBudget: number }} o
   */
  constructor(o) {
    this.random = seededRandom(o.seed);
    this.epoch = o.epoch;
    this.vault = o.vault;
    this.keys = o.keys;
    this.goodKey = o.goodKey;
    this.hugeKeysLeft = o.hugeKeyBudget;
    this.seq = 0;
    this.prefix = `c${(o.seed >>> 0).toString(36)}`;
  }

  int(n) {
    return Math.floor(this.random() * n);
  }

  pick(list) {
    return list[this.int(list.length)];
  }

  freshId() {
    this.seq++;
    // Mostly UUID-like ids, sometimes the odd but valid ones (128 characters, every allowed symbol).
    const r = this.random();
    if (r < 0.02) return `${this.prefix}.${this.seq}:`.padEnd(128, '-_.:9Az');
    if (r < 0.04) return `${this.seq}`;
    return `${this.prefix}-${this.seq}-${this.int(1e9).toString(36)}`;
  }

  validParams(name) {
    const params = { vault: this.vault, resource: { ...SIM_RESOURCE, customAttributes: { ...SIM_RESOURCE.customAttributes } } };
    if (name === 'getPassword') {
      params.accountId = this.pick(['902', '902', '902', '903', '904']);
      if (this.random() < 0.5) params.ticketId = `INC-${this.int(1e6)}`;
      if (this.random() < 0.5) params.reason = 'chaos fuzz';
      if (this.random() < 0.1) params.recipientKey = this.goodKey;
    }
    return params;
  }

  validCommand(id = this.freshId()) {
    const name = this.random() < 0.5 ? 'listAccounts' : 'getPassword';
    return { type: 'command', id, epoch: this.epoch, name, timeoutMs: 10_000, params: this.validParams(name) };
  }

  /** One mutation of a valid command that keeps its id usable: every such frame must get exactly one result. */
  mutate(cmd) {
    const p = cmd.params;
    const m = this.int(24);
    switch (m) {
      case 0: cmd.name = this.pick([5, null, true, {}, []]); break;
      case 1: cmd.name = this.pick(['deleteEverything', '', 'GETPASSWORD', '__proto__', 'constructor']); break;
      case 2: delete cmd.params; break;
      case 3: cmd.params = this.pick(['params', 7, null, [], true]); break;
      case 4: delete p.vault; break;
      case 5: p.vault = this.pick([7, '', 'x'.repeat(129), 'no-such-vault', '𝔭𝔪𝔭', null]); break;
      case 6: delete p.resource; break;
      case 7: p.resource = this.pick(['301', 301, null, [], { customAttributes: 'x' }]); break;
      case 8: p.resource.customAttributes = this.pick([{}, { 'PMP Resource ID': '' }, { 'pmp resource id': '301', 'PMP RESOURCE ID': '302' }, { 'PMP Resource ID': -1 }, { 'PMP Resource ID': 1e300 }, { 'PMP Resource ID': 'No Such Resource' }, { 'PMP Resource ID': '99999' }]); break;
      case 9: p.resource.customAttributes = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`attr${i}`, 'v'])); break;
      case 10: cmd.timeoutMs = this.pick([0, 99, 120_001, -5, 1.5, 1e308, '1000', null, 2 ** 53 + 2]); break;
      case 11: cmd.epoch = this.pick([-1, 1.5, '1', null, 2 ** 53 + 2, 1e308]); break;
      case 12: cmd.epoch = this.epoch + this.pick([1, -1, 1000]); break; // a well-formed wrong epoch: NOT_ACTIVE
      case 13: delete cmd.epoch; break;
      case 14: cmd.name = 'getPassword'; cmd.params = this.validParams('getPassword'); cmd.params.accountId = this.pick([902, '', '../../etc', '٩٠٢', '9'.repeat(400), null, '1e3']); break;
      case 15: cmd.name = 'getPassword'; cmd.params = this.validParams('getPassword'); cmd.params.reason = 'r'.repeat(this.pick([1025, 20_000])); break;
      case 16: cmd.name = 'getPassword'; cmd.params = this.validParams('getPassword'); cmd.params.ticketId = this.pick(['🎫'.repeat(300), '\ud800\udfff\ud800', 'x'.repeat(257), 42]); break;
      case 17: cmd.name = 'getPassword'; cmd.params = this.validParams('getPassword'); cmd.params.recipientKey = this.pick(this.keys.cheap); break;
      case 18: cmd.name = 'getPassword'; cmd.params = this.validParams('getPassword'); cmd.params.recipientKey = this.pick([17, 'x'.repeat(16 * 1024 + 1), '']); break;
      case 19: p.resource.name = 'n'.repeat(513); break;
      case 20: // own "__proto__" and "constructor" keys, as JSON.parse makes them
        Object.defineProperty(p, '__proto__', { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
        p.constructor = { prototype: { polluted: true } };
        break;
      case 21: cmd.extra = { deeply: { nested: { unknown: { field: [1, 2, { three: 3 }] } } } }; break; // ignored extras: still a valid command
      case 22: p.resource.customAttributes['PMP Resource ID'] = 301; break; // integers become strings (docs/protocol.md 5)
      default: p.requestedBy = 'ü'.repeat(256); break;
    }
    return cmd;
  }

  /** Text of a command whose `params.resource` holds an array nested `depth` deep (JSON.stringify would recurse). */
  deeplyNested(cmd, depth) {
    const marker = '"__DEEP__"';
    cmd.params = { ...(typeof cmd.params === 'object' && cmd.params ? cmd.params : {}), deep: '__DEEP__' };
    return JSON.stringify(cmd).replace(marker, '['.repeat(depth) + ']'.repeat(depth));
  }

  /**
   * The next group of frames (one, or an original with its duplicates right
   * after it). `allowViolation`: the driver's budget for violations on this
   * connection (it keeps them under the close-with-4000 rule).
   */
  next({ allowViolation }) {
    const r = this.random();
    if (r < 0.30) return [this.frame(this.validCommand())];
    if (r < 0.70) return [this.frame(this.mutate(this.validCommand()))];
    if (r < 0.76) {
      // A duplicate of a command that needs the vault (so it is in flight): identical or malformed, it joins.
      // getPassword of a plain account: always a password call to the (slowed) simulator.
      const original = this.validCommand();
      original.name = 'getPassword';
      original.params = { vault: this.vault, resource: structuredClone(SIM_RESOURCE), accountId: '902' };
      const dups = Array.from({ length: 1 + this.int(3) }, () => {
        const altered = this.random() >= 0.5;
        const copy = altered ? this.mutate(structuredClone(original)) : structuredClone(original);
        copy.id = original.id;
        copy.epoch = original.epoch;
        return { ...this.frame(copy, altered ? 'altered-duplicate' : 'duplicate'), answerId: null, dupOf: original.id };
      });
      return [this.frame(original), ...dups];
    }
    if (r < 0.765) {
      const cmd = this.validCommand();
      return [{ text: this.deeplyNested(cmd, this.pick([64, 1000, 10_000, 50_000])), answerId: cmd.id, violation: false, kind: 'deep' }];
    }
    if (r < 0.781) {
      // Oversize but under the frame limit: a string field of most of a MiB.
      const cmd = this.validCommand();
      cmd.params.filler = 'z'.repeat(MAX_FRAME_BYTES - 4096);
      return [this.frame(cmd, 'oversize-string')];
    }
    if (r < 0.80) {
      const cmd = this.validCommand();
      cmd.name = 'getPassword';
      cmd.params = this.validParams('getPassword');
      cmd.params.accountId = '902';
      if (this.hugeKeysLeft > 0 && this.random() < 0.05) {
        cmd.params.recipientKey = this.keys.huge[--this.hugeKeysLeft % this.keys.huge.length];
        return [this.frame(cmd, 'huge-exponent-key')];
      }
      cmd.params.recipientKey = this.pick(this.keys.cheap);
      return [this.frame(cmd, 'bad-key')];
    }
    if (allowViolation && r < 0.81) return [this.violation()];
    // Well-formed frames of other types the gateway ignores or handles (not commands).
    if (r < 0.82) return [{ text: JSON.stringify({ type: 'role', role: 'active', epoch: this.epoch }), answerId: null, violation: false, kind: 'role' }];
    return [this.frame(this.mutate(this.validCommand()))];
  }

  /** One protocol violation (non-JSON, no type, unknown type, an unusable id). */
  violation() {
    if (this.random() < 0.5) return { text: this.pick(VIOLATIONS)(), answerId: null, violation: true, kind: 'violation' };
    const cmd = this.validCommand();
    cmd.id = this.pick(BAD_IDS)();
    if (cmd.id === null && this.random() < 0.5) delete cmd.id;
    return { text: JSON.stringify(cmd), answerId: null, violation: true, kind: 'bad-id' };
  }

  frame(cmd, kind = 'command') {
    return { text: JSON.stringify(cmd), answerId: cmd.id, violation: false, kind };
  }
}

/** Frames that close the connection by contract (section 1): a binary frame (1003) and one over 1 MiB (1009). */
export const CLOSING_FRAMES = Object.freeze([
  { kind: 'binary', data: Buffer.from('{"type":"command"}'), binary: true, closeCode: 1003 },
  { kind: 'too-big', data: `{"type":"command","id":"big","pad":"${'p'.repeat(MAX_FRAME_BYTES)}"}`, binary: false, closeCode: 1009 },
]);
