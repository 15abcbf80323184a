import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineMessagingVendor } from '../../../src/providers/messaging-vendor.js';
import { messagingVendors } from '../../../src/providers/vendors.js';

describe('the built-in messaging vendors', () => {
  test.each(messagingVendors.map((v) => [v.name, v] as const))('%s describes every setting it declares', (_name, vendor) => {
    const schema = z.toJSONSchema(vendor.settingsSchema, { io: 'input', unrepresentable: 'any' });
    const properties = Object.entries(schema.properties ?? {});
    expect(properties.map(([variable]) => variable)).toEqual(vendor.variables);
    for (const [variable, property] of properties) {
      const description = typeof property === 'object' ? property.description : undefined;
      expect({ variable, description }).toEqual({ variable, description: expect.stringMatching(/\S{3}/) });
    }
  });

  test('together carry SMS, WhatsApp and Instagram, with reactions on Instagram only', () => {
    expect(messagingVendors.flatMap((v) => v.channels).sort()).toEqual(['instagram', 'sms', 'whatsapp']);
    expect(messagingVendors.flatMap((v) => v.reactions)).toEqual(['instagram']);
  });
});

describe('defineMessagingVendor', () => {
  const spec = { displayName: 'X', channels: ['x'], settings: z.object({}), create: () => undefined };

  test('refuses a name that is not lower-case, and reactions on a channel it does not carry', () => {
    expect(() => defineMessagingVendor({ ...spec, name: 'Pigeon' })).toThrow(/lower-case/);
    expect(() => defineMessagingVendor({ ...spec, name: 'x', reactions: ['y'] })).toThrow(/reacts on 'y'/);
  });

  test('reads its settings from the environment, naming each bad variable', () => {
    const vendor = defineMessagingVendor({ ...spec, name: 'x', settings: z.object({ X_PORT: z.coerce.number().int().default(7) }) });
    expect(vendor.configure({})).toMatchObject({ ok: true, settings: { X_PORT: 7 } });
    expect(vendor.configure({ X_PORT: '8', OTHER: 'ignored' })).toMatchObject({ ok: true, settings: { X_PORT: 8 } });
    expect(vendor.configure({ X_PORT: 'eight' })).toMatchObject({ ok: false, problems: [{ variable: 'X_PORT' }] });
  });
});
