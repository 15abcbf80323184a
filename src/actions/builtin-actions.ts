import type { ActionDefinition } from './action-definition.js';
import { conditionAction } from './condition.action.js';
import { delayAction } from './delay.action.js';
import { endAction } from './end.action.js';
import { httpRequestAction } from './http-request.action.js';
import { instagramLikeMessageAction } from './instagram-like-message.action.js';
import { instagramSendDirectMessageAction } from './instagram-send-direct-message.action.js';
import { smsSendAction } from './sms-send.action.js';
import { switchAction } from './switch.action.js';
import { triggerIncomingMessageAction } from './trigger-incoming-message.action.js';
import { triggerManualAction } from './trigger-manual.action.js';
import { triggerScheduleAction } from './trigger-schedule.action.js';
import { triggerWebhookAction } from './trigger-webhook.action.js';
import { waitForEventAction } from './wait-for-event.action.js';
import { waitForMessageAction } from './wait-for-message.action.js';
import { whatsappSendMessageAction } from './whatsapp-send-message.action.js';

/** Every step type the product ships with. Adding a type: one `*.action.ts` file and one line here. */
export const builtinActions: readonly ActionDefinition[] = [
  triggerManualAction,
  triggerWebhookAction,
  triggerIncomingMessageAction,
  triggerScheduleAction,
  instagramSendDirectMessageAction,
  instagramLikeMessageAction,
  whatsappSendMessageAction,
  smsSendAction,
  httpRequestAction,
  delayAction,
  waitForEventAction,
  waitForMessageAction,
  conditionAction,
  switchAction,
  endAction,
];
