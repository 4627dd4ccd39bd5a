/**
 * The SPICE ticket: the password (empty when there is none; spice-server
 * decrypts a ticket even with ticketing disabled) with its terminating NUL,
 * encrypted with the RSA key from the link reply, OAEP padding with SHA-1
 * (what spice-server's RSA_private_decrypt with RSA_PKCS1_OAEP_PADDING
 * expects). The password never appears in an error.
 */
import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';
import { AtpError } from '@atp/protocol';
import { MAX_PASSWORD_BYTES, TICKET_ENCRYPTED_BYTES } from './constants.js';

function ticketKey(der: Uint8Array): KeyObject {
  try {
    const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`a ${String(key.asymmetricKeyType)} key, not RSA`);
    return key;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new AtpError('ATP_SPICE_PROTOCOL', `the SPICE link reply's ticket key is not an RSA SubjectPublicKeyInfo: ${why}`, { cause, details: { field: 'pub_key' } });
  }
}

/** The 128-byte encrypted ticket for `password` (undefined = none). */
export function encryptTicket(publicKeyDer: Uint8Array, password: string | undefined): Uint8Array {
  const plain = Buffer.from(`${password ?? ''}\0`, 'utf8');
  // The server keeps the password in a 60-byte buffer with its NUL: 59 bytes survive.
  const limit = MAX_PASSWORD_BYTES - 1;
  if (plain.byteLength - 1 > limit) {
    throw new AtpError('ATP_SPICE_AUTH', `the SPICE password is ${plain.byteLength - 1} bytes long; SPICE servers keep at most ${limit}`, {
      details: { field: 'password', limit },
    });
  }
  const key = ticketKey(publicKeyDer);
  const encrypted = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, plain);
  if (encrypted.byteLength !== TICKET_ENCRYPTED_BYTES) {
    throw new AtpError('ATP_SPICE_PROTOCOL', `the SPICE ticket key is ${encrypted.byteLength * 8} bits; the protocol fixes ${TICKET_ENCRYPTED_BYTES * 8}`, { details: { field: 'pub_key' } });
  }
  return new Uint8Array(encrypted);
}
