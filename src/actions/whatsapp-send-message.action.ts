import { defineSendMessageAction } from './send-message.helper.js';

/** Sends a WhatsApp text message. */
export const whatsappSendMessageAction = defineSendMessageAction({
  type: 'whatsapp.sendMessage',
  channel: 'whatsapp',
  displayName: 'Send WhatsApp message',
  description: 'Sends a WhatsApp text message to a phone number.',
});
