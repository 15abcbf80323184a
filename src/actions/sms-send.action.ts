import { defineSendMessageAction } from './send-message.helper.js';

/** Sends an SMS. */
export const smsSendAction = defineSendMessageAction({
  type: 'sms.send',
  channel: 'sms',
  displayName: 'Send SMS',
  description: 'Sends a text message by SMS to a phone number.',
});
