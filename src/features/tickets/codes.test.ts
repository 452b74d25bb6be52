import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../config.ts';
import { createTicketCodec, ticketSigningKey } from './codes.ts';

const JWT = 'test-secret-that-is-long-enough-0123456789';
const codec = createTicketCodec(ticketSigningKey({ jwtSecret: JWT }));

/** The code with its character at i replaced by another base64url character. */
const flip = (code: string, i: number) => code.slice(0, i) + (code[i] === 'A' ? 'B' : 'A') + code.slice(i + 1);

describe('ticket codes', () => {
  it('a code is URL-safe, 43 characters, the same every time, and verifies to its ticket id', () => {
    const id = randomUUID();
    const code = codec.encode(id);
    assert.match(code, /^mq1[A-Za-z0-9_-]{40}$/);
    assert.equal(encodeURIComponent(code), code);
    assert.equal(codec.encode(id), code, 'stable: every answer shows the same code');
    assert.equal(codec.verify(code), id);
    assert.equal(codec.verify(codec.encode(id.toUpperCase())), id, 'ids compare lower-case');
  });

  it('any one character changed, cut, extended or wrong-prefixed → does not verify', () => {
    const code = codec.encode(randomUUID());
    for (let i = 0; i < code.length; i++) assert.equal(codec.verify(flip(code, i)), undefined, `character ${i} changed`);
    assert.equal(codec.verify(code.slice(0, -1)), undefined);
    assert.equal(codec.verify(code + 'A'), undefined);
    assert.equal(codec.verify('mq2' + code.slice(3)), undefined);
    assert.equal(codec.verify(''), undefined);
    assert.equal(codec.verify('mq1' + '+'.repeat(40)), undefined);
  });

  it('a code signed with another key (another JWT_SECRET, or TICKET_SIGNING_SECRET set) does not verify', () => {
    const id = randomUUID();
    const others = [
      createTicketCodec(ticketSigningKey({ jwtSecret: 'another-secret-that-is-long-enough-987654' })),
      createTicketCodec(ticketSigningKey({ jwtSecret: JWT, ticketSigningSecret: 'a-ticket-signing-secret-of-32-chars-min' })),
    ];
    for (const other of others) {
      assert.equal(codec.verify(other.encode(id)), undefined);
      assert.equal(other.verify(codec.encode(id)), undefined);
    }
    // The derived key is not the JWT secret itself: a code is no HMAC under JWT_SECRET.
    assert.notDeepEqual(ticketSigningKey({ jwtSecret: JWT }), Buffer.from(JWT));
  });

  it('a forged code (a known ticket id with a guessed tag) does not verify', () => {
    const id = randomUUID();
    const idPart = Buffer.from(id.replace(/-/g, ''), 'hex');
    for (let i = 0; i < 200; i++) {
      const forged = 'mq1' + Buffer.concat([idPart, Buffer.from(randomUUID().replace(/-/g, ''), 'hex').subarray(0, 14)]).toString('base64url');
      assert.equal(codec.verify(forged), undefined);
    }
  });
});

describe('TICKET_SIGNING_SECRET', () => {
  const base = { NODE_ENV: 'test', JWT_SECRET: JWT, PAYMENT_WEBHOOK_SECRET: 'whsec_test_0123456789abcdef' };
  it('unset → derived from JWT_SECRET: a restart with the same JWT_SECRET verifies the codes it made before; optional in production', () => {
    const id = randomUUID();
    const codecOf = (env: Record<string, string>) => {
      const c = loadConfig(env);
      return createTicketCodec(ticketSigningKey({ ticketSigningSecret: c.ticketSigningSecret, jwtSecret: c.jwtSecret }));
    };
    assert.equal(codecOf(base).verify(codecOf(base).encode(id)), id);
    assert.equal(loadConfig({ ...base, NODE_ENV: 'production' }).ticketSigningSecret, undefined);
  });
  it('set → its own key (codes survive a JWT_SECRET rotation); shorter than 32 characters → refused at start-up, naming it', () => {
    const id = randomUUID();
    const secret = 'ticket-signing-secret-0123456789abcdef';
    const before = loadConfig({ ...base, TICKET_SIGNING_SECRET: secret });
    const after = loadConfig({ ...base, TICKET_SIGNING_SECRET: secret, JWT_SECRET: 'a-rotated-jwt-secret-that-is-long-enough-42' });
    const code = createTicketCodec(ticketSigningKey(before)).encode(id);
    assert.equal(createTicketCodec(ticketSigningKey(after)).verify(code), id);
    assert.throws(() => loadConfig({ ...base, TICKET_SIGNING_SECRET: 'short' }), (err: unknown) => err instanceof ConfigError && /TICKET_SIGNING_SECRET/.test(err.message));
  });
});
