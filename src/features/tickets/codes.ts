/**
 * Ticket codes: what a ticket's QR image carries and an usher types or scans.
 *
 *   code = "mq1" + base64url( ticket id (16 bytes) || HMAC-SHA256(key, "marquee-ticket:v1" || id)[0..14) )
 *
 * 3 + 40 characters of [A-Za-z0-9_-]: URL-safe, no padding (30 bytes are exactly 40 base64
 * characters, so no character carries spare bits and every code has one spelling).
 * - Unguessable and unforgeable: the ticket id is random (gen_random_uuid) and the 112-bit
 *   tag needs the server's key; a tampered code (any character changed) fails the tag.
 * - Verifiable offline: anyone holding the key checks a code without the database.
 * - Nothing personal: only the ticket's random id and the tag; no name, e-mail, seat or show.
 * - Stable: the same ticket always has the same code (no randomness, no expiry), so every
 *   answer that lists a booking's tickets shows the same codes, and a QR image never changes.
 * The "mq1" prefix names the format's version: a new format (or a rotated key with its own
 * prefix) can be told apart without trying every key.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { TicketDto, TicketRow } from './schemas.ts';

const PREFIX = 'mq1';
const ID_BYTES = 16;
const TAG_BYTES = 14;
const CODE_LENGTH = PREFIX.length + ((ID_BYTES + TAG_BYTES) / 3) * 4;
const DOMAIN = Buffer.from('marquee-ticket:v1', 'utf8');
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface TicketCodec {
  /** The code of a ticket id (a UUID). */
  encode(ticketId: string): string;
  /** The ticket id a code stands for, or undefined when the code does not verify. */
  verify(code: string): string | undefined;
}

/**
 * The signing key: TICKET_SIGNING_SECRET when set, else derived from the JWT secret with HKDF
 * (a separate key for a separate purpose: a ticket tag is never a valid token signature and
 * vice versa), so tickets stay valid across restarts exactly as sessions do.
 */
export function ticketSigningKey(secrets: { ticketSigningSecret?: string | undefined; jwtSecret: string }): Buffer {
  const ikm = secrets.ticketSigningSecret ?? secrets.jwtSecret;
  const info = secrets.ticketSigningSecret === undefined ? 'marquee ticket codes from JWT_SECRET' : 'marquee ticket codes';
  return Buffer.from(hkdfSync('sha256', ikm, 'marquee', info, 32));
}

function uuidBytes(id: string): Buffer | undefined {
  const hex = id.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

function uuidOf(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function createTicketCodec(key: Buffer): TicketCodec {
  const tag = (id: Buffer) => createHmac('sha256', key).update(DOMAIN).update(id).digest().subarray(0, TAG_BYTES);
  return {
    encode(ticketId) {
      const id = uuidBytes(ticketId);
      if (id === undefined) throw new Error(`not a ticket id: ${ticketId}`);
      return PREFIX + Buffer.concat([id, tag(id)]).toString('base64url');
    },
    verify(code) {
      if (code.length !== CODE_LENGTH || !code.startsWith(PREFIX)) return undefined;
      const body = code.slice(PREFIX.length);
      if (!BASE64URL.test(body)) return undefined;
      const bytes = Buffer.from(body, 'base64url');
      if (bytes.length !== ID_BYTES + TAG_BYTES) return undefined;
      const id = bytes.subarray(0, ID_BYTES);
      // Constant time: how much of a forged tag was right must not show in the answer's timing.
      return timingSafeEqual(bytes.subarray(ID_BYTES), tag(id)) ? uuidOf(id) : undefined;
    },
  };
}

/** The API's Ticket from the database's: the code added, in the key order of the Ticket schema. */
export function ticketWithCode(codec: TicketCodec, t: TicketRow): TicketDto {
  return { id: t.id, seatId: t.seatId, code: codec.encode(t.id), status: t.status, checkedInAt: t.checkedInAt };
}
