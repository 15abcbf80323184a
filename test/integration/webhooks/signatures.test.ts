import { createHash, createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { metaSignatureValid } from '../../../src/http/meta-inbound.js';
import { MAX_TWILIO_PARAMETERS, TwilioForm, twilioSignature, twilioSignatureValid } from '../../../src/http/twilio-inbound.js';
import { checkWebhookSignature, signedMessageOf, signWebhookBody } from '../../../src/http/webhook-signature.js';

// Pure checks of the signature schemes against known answers; no server needed.
describe('provider signature schemes', () => {
  test("Twilio: the example of Twilio's own validator tests", async () => {
    const form = await TwilioForm.parse(Buffer.from(new URLSearchParams({
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    }).toString()));
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    expect(twilioSignature('12345', url, form)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(twilioSignatureValid({ authToken: '12345', url, form, header: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' })).toBe(true);
    expect(twilioSignatureValid({ authToken: '12345', url: `${url}&x=1`, form, header: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' })).toBe(false);
    expect(twilioSignatureValid({ authToken: '12345', url, form, header: 'not base64!' })).toBe(false);
  });

  test('Twilio: a form of up to 1000 parameters is parsed; one more is refused before decoding', async () => {
    const form = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `p${i}=v`).join('&'));
    expect((await TwilioForm.parse(form(MAX_TWILIO_PARAMETERS))).get(`p${MAX_TWILIO_PARAMETERS - 1}`)).toBe('v');
    await expect(TwilioForm.parse(form(MAX_TWILIO_PARAMETERS + 1))).rejects.toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
    // Repeated names are signed with each distinct value, sorted.
    const repeated = await TwilioForm.parse(Buffer.from('b=2&a=1&b=1&b=2'));
    expect(repeated.signedParts()).toEqual(['a', '1', 'b', '1', 'b', '2']);
  });

  test('Meta: sha256=<hex HMAC of the exact bytes>', () => {
    const body = Buffer.from('{"object":"instagram","entry":[]}');
    const good = `sha256=${createHmac('sha256', 'secret').update(body).digest('hex')}`;
    expect(metaSignatureValid('secret', good, body)).toBe(true);
    expect(metaSignatureValid('secret', good.toUpperCase().replace('SHA256=', 'sha256='), body)).toBe(true);
    expect(metaSignatureValid('secret', good, Buffer.from('{"object":"instagram","entry":[] }'))).toBe(false);
    expect(metaSignatureValid('secret', undefined, body)).toBe(false);
    expect(metaSignatureValid('secret', 'sha256=', body)).toBe(false);
  });

  test('X-Wfb-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', () => {
    const body = Buffer.from('{"amount":100}');
    const header = signWebhookBody({ secret: 'whsec_test', timestamp: 1_700_000_000, body });
    expect(header).toBe(
      `t=1700000000,v1=${createHmac('sha256', 'whsec_test').update('1700000000.{"amount":100}').digest('hex')}`,
    );
    const at = (s: number) => new Date(s * 1000);
    const check = (h: string | undefined, now: number) =>
      checkWebhookSignature({ header: h, secret: 'whsec_test', body, now: at(now), toleranceS: 300 });
    expect(check(header, 1_700_000_300)).toBeUndefined();
    expect(check(header, 1_700_000_301)).toBe('STALE');
    expect(check(header, 1_699_999_699)).toBe('STALE');
    expect(check(undefined, 1_700_000_000)).toBe('MISSING');
    expect(check('v1=abc', 1_700_000_000)).toBe('MALFORMED');
    expect(check('t=1700000000,t=1700000000,v1=00', 1_700_000_000)).toBe('MALFORMED');
    expect(check(header.replace(/.$/, (c) => (c === '0' ? '1' : '0')), 1_700_000_000)).toBe('MISMATCH');
  });

  test('the signed message of a header: one digest per timestamp and body, however the header is spelled', () => {
    const body = Buffer.from('{"name":"order.paid","key":"k"}');
    const header = signWebhookBody({ secret: 'whsec_test', timestamp: 1_700_000_000, body });
    const message = signedMessageOf(header, body);
    expect(message).toEqual({
      timestamp: 1_700_000_000,
      digest: createHash('sha256').update(`1700000000.${body.toString()}`).digest('hex'),
    });
    expect(signedMessageOf(`${header},v1=00`, body)).toEqual(message);
    expect(signedMessageOf(header.split(',').reverse().join(' , '), body)).toEqual(message);
    expect(signedMessageOf(header, Buffer.from('{"name":"order.paid","key":"k2"}'))?.digest).not.toBe(message?.digest);
    expect(signedMessageOf(signWebhookBody({ secret: 'whsec_test', timestamp: 1_700_000_001, body }), body)?.digest).not.toBe(message?.digest);
    expect(signedMessageOf(undefined, body)).toBeUndefined();
    expect(signedMessageOf('v1=abc', body)).toBeUndefined();
  });
});
