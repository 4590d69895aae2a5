import type { ConnectionOptions, SecureContext } from 'node:tls';
import { type AbortLike, GatewayError, withSignal } from '../shared/index.js';
import {
  describeCertificate,
  fetchPresentedCertificate,
  type InspectOptions,
  normalizePin,
  type PresentedCertificate,
  rootsPlusSecureContext,
  spkiPinFromPem,
  trustedConnectOptions,
} from '../tls/index.js';

/**
 * How a vault profile's TLS peer is trusted, for undici's `connect` and for
 * `credgw vault test`.
 *
 * - `caFile` (with or without a pin): system roots + the file, hostname
 *   checked unless a pin identifies the key.
 * - Pin only (the usual self-signed PMP): the presented leaf is fetched once
 *   (inspection, nothing sent), accepted only if its SPKI pin matches, and
 *   then added as an extra CA, so every connection that carries the token is
 *   fully verified with `rejectUnauthorized` left at true. After a TLS
 *   failure the client may ask to learn again once (a certificate renewed on
 *   the same key).
 * - Neither: system roots only.
 */

export type TrustMode = 'ca' | 'pin' | 'system';

export interface VaultTrustOptions {
  caFile: string | null;
  pinSha256: string | null;
  /** The vault's host (no brackets) and port, for learning the pinned leaf. */
  host: string;
  port: number;
  /** Handshake time-out while learning. */
  timeoutMs: number;
  /** Replaces fetchPresentedCertificate (tests). */
  inspect?: (opts: InspectOptions) => Promise<PresentedCertificate>;
}

export interface VaultConnectOptions extends Pick<ConnectionOptions, 'ca' | 'checkServerIdentity'> {
  /**
   * One secure context trusting what `ca` lists, shared by every connection of this
   * generation: handing `ca` to each connection instead makes OpenSSL parse
   * the ~150 system roots again per socket (milliseconds and about 1 MB of
   * RSS each). `rejectUnauthorized` stays at its default (true).
   */
  secureContext: SecureContext;
}

export class VaultTrust {
  readonly mode: TrustMode;
  /** Bumped whenever the connect options change (the pool must be rebuilt). */
  generation = 0;
  private options: VaultConnectOptions | undefined;
  private learned: PresentedCertificate | undefined;
  /** The options of the learned leaf, kept while `options` is cleared for a relearn. */
  private learnedOptions: VaultConnectOptions | undefined;
  private learning: Promise<VaultConnectOptions> | undefined;

  constructor(private readonly opts: VaultTrustOptions) {
    this.mode = opts.caFile ? 'ca' : opts.pinSha256 ? 'pin' : 'system';
  }

  /** The leaf learned in pin mode. */
  get learnedCertificatePem(): string | undefined {
    return this.learned?.certPem;
  }

  /** The connect options when they are known without waiting (none yet, or being learned again: undefined). */
  get ready(): VaultConnectOptions | undefined {
    return this.options;
  }

  /**
   * Connect options for the current generation. Rejects with VAULT_TLS_ERROR
   * (unreadable CA file, pin mismatch) or with the raw network error of the
   * learning handshake (so the caller can classify and retry it).
   */
  connectOptions(signal?: AbortLike): Promise<VaultConnectOptions> {
    if (this.options) return Promise.resolve(this.options);
    if (this.mode !== 'pin') {
      try {
        this.options = withContext(trustedConnectOptions({ caFile: this.opts.caFile, pinSha256: this.opts.pinSha256 }));
      } catch (err) {
        return Promise.reject(
          new GatewayError('VAULT_TLS_ERROR', 'the vault CA file cannot be used', { cause: err, detail: (err as Error).message }),
        );
      }
      return Promise.resolve(this.options);
    }
    return withSignal(this.learn(), signal);
  }

  /**
   * After a TLS failure: fetch the presented leaf again. Resolves true when
   * a different certificate with the pinned key is now trusted (worth one
   * retry), false when nothing changed; rejects VAULT_TLS_ERROR on a pin
   * mismatch. Only meaningful in pin mode.
   */
  async relearn(signal?: AbortLike): Promise<boolean> {
    if (this.mode !== 'pin') return false;
    const before = this.learned?.certPem;
    this.options = undefined;
    await withSignal(this.learn(), signal);
    return this.learned?.certPem !== before;
  }

  private learn(): Promise<VaultConnectOptions> {
    if (!this.learning) {
      this.learning = this.learnOnce().finally(() => {
        this.learning = undefined;
      });
      this.learning.catch(() => undefined);
    }
    return this.learning;
  }

  private async learnOnce(): Promise<VaultConnectOptions> {
    const inspect = this.opts.inspect ?? fetchPresentedCertificate;
    const presented = await inspect({ host: this.opts.host, port: this.opts.port, timeoutMs: this.opts.timeoutMs });
    const expected = normalizePin(this.opts.pinSha256 as string);
    const actual = spkiPinFromPem(presented.certPem);
    if (actual !== expected) {
      throw new GatewayError('VAULT_TLS_ERROR', 'the vault certificate does not match its pin', {
        detail: `expected pin ${expected}, presented ${actual} (${describeCertificate(presented.certPem).subject})`,
      });
    }
    // The whole presented chain becomes trusted, so a pinned leaf issued by a
    // private CA verifies too when the server sends that CA.
    // The same leaf again keeps its generation, and so its secure context and the pool built on it.
    if (this.learned?.certPem === presented.certPem && this.learnedOptions) {
      this.options = this.learnedOptions;
      return this.learnedOptions;
    }
    const options = withContext(trustedConnectOptions({ pinSha256: expected }, presented.chainPem));
    this.generation++;
    this.learned = presented;
    this.learnedOptions = options;
    this.options = options;
    return options;
  }
}

function withContext(o: ReturnType<typeof trustedConnectOptions>): VaultConnectOptions {
  return { ca: o.ca, checkServerIdentity: o.checkServerIdentity, secureContext: rootsPlusSecureContext(o.extraCa) };
}
