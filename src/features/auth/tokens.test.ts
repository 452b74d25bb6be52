/**
 * The access-token verifier on its own (fast-jwt over node:crypto): what it accepts and every
 * way a token signed with the right key can still be refused. Tokens are made with jose, an
 * independent implementation, so neither side checks itself.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT, type JWTPayload } from 'jose';
import { createTokens } from './tokens.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const key = new TextEncoder().encode(SECRET);
const tokens = createTokens(SECRET, 900);
const userId = randomUUID();
const sessionId = randomUUID();
const now = () => Math.floor(Date.now() / 1000);

function jwt(claims: JWTPayload, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}
const good: JWTPayload = { sub: userId, iss: 'marquee', aud: 'marquee-api', iat: now(), exp: now() + 600, role: 'customer', ver: 3, sid: sessionId };

describe('access tokens', () => {
  it('signAccess → verifyAccess round trip: user id, token version and sign-in, lower-cased', async () => {
    const token = await tokens.signAccess({ id: userId.toUpperCase(), role: 'admin', tokenVersion: 7, sessionId: sessionId.toUpperCase() });
    assert.deepEqual(tokens.verifyAccess(token), { userId, tokenVersion: 7, sessionId });
    const [header, payload] = token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>);
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
    assert.equal(payload?.['iss'], 'marquee');
    assert.equal(payload?.['aud'], 'marquee-api');
    assert.equal(payload?.['role'], 'admin');
    assert.equal(Number(payload?.['exp']) - Number(payload?.['iat']), 900);
  });

  it('a token from another implementation (jose) with every claim → accepted', async () => {
    assert.deepEqual(tokens.verifyAccess(await jwt(good)), { userId, tokenVersion: 3, sessionId });
  });

  it('refused: wrong issuer, wrong audience, expired, not yet valid, iat not a number, bad ver or sid, sub not a uuid', async () => {
    const cases: [string, JWTPayload][] = [
      ['issuer', { ...good, iss: 'someone-else' }],
      ['audience', { ...good, aud: 'another-api' }],
      ['audience list without ours', { ...good, aud: ['x', 'y'] }],
      ['expired', { ...good, iat: now() - 3600, exp: now() - 60 }],
      ['exp a string', { ...good, exp: String(now() + 600) as unknown as number }],
      ['nbf ahead', { ...good, nbf: now() + 600 }],
      ['iat a string', { ...good, iat: String(now()) as unknown as number }],
      ['ver missing', { ...good, ver: undefined }],
      ['ver negative', { ...good, ver: -1 }],
      ['ver fractional', { ...good, ver: 1.5 }],
      ['sid missing', { ...good, sid: undefined }],
      ['sid not a uuid', { ...good, sid: 'family-1' }],
      ['sub not a uuid', { ...good, sub: 'admin' }],
    ];
    for (const [what, claims] of cases) assert.equal(tokens.verifyAccess(await jwt(claims)), undefined, what);
  });

  it('refused: alg none, HS384/HS512, another key, a changed payload, a missing or padded signature, garbage', async () => {
    const token = await jwt(good);
    const [h, p, s] = token.split('.') as [string, string, string];
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const forged = Buffer.from(JSON.stringify({ ...good, role: 'admin', sub: randomUUID() })).toString('base64url');
    const resigned = (header: string, payload: string, alg: string) => `${header}.${payload}.${createHmac(alg, SECRET).update(`${header}.${payload}`).digest('base64url')}`;
    const cases: [string, string][] = [
      ['alg none, empty signature', `${none}.${p}.`],
      ['alg none, no signature', `${none}.${p}`],
      ['HS384', await jwt(good, { alg: 'HS384', typ: 'JWT' })],
      ['HS512', await jwt(good, { alg: 'HS512', typ: 'JWT' })],
      ['another key', await new SignJWT(good).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET + 'x'))],
      ['payload changed', `${h}.${forged}.${s}`],
      ['signature cut', `${h}.${p}.${s.slice(0, -2)}`],
      ['signature padded', `${h}.${p}.${s}=`],
      ['header says none, signed anyway', resigned(none, p, 'sha256')],
      ['two parts', `${h}.${p}`],
      ['garbage', 'not-a-token'],
      ['empty', ''],
    ];
    for (const [what, t] of cases) assert.equal(tokens.verifyAccess(t), undefined, what);
  });
});
