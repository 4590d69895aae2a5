import type { SealedRecipient, Sealer } from '../commands/index.js';
import { GatewayError } from '../shared/index.js';
import { parseRecipientKey, RecipientKeyError, sealSecret } from '../tls/index.js';

/**
 * The commands' Sealer port on tls/'s RSA-OAEP sealing. A key or a password
 * that does not suit sealed delivery is the caller's choice of key: the
 * command answers BAD_REQUEST with tls/'s stable message.
 */
export const recipientSealer: Sealer = {
  recipient(pem: string): SealedRecipient {
    const key = asBadRequest(() => parseRecipientKey(pem));
    return { seal: (secret) => asBadRequest(() => sealSecret(key, secret)) };
  },
};

function asBadRequest<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    throw err instanceof RecipientKeyError ? new GatewayError('BAD_REQUEST', err.message) : err;
  }
}
