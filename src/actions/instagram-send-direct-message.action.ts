import { defineSendMessageAction } from './send-message.helper.js';

/** Sends an Instagram direct message. */
export const instagramSendDirectMessageAction = defineSendMessageAction({
  type: 'instagram.sendDirectMessage',
  channel: 'instagram',
  displayName: 'Send Instagram direct message',
  description: 'Sends a direct message to an Instagram user.',
});
