import { randomUUID } from 'node:crypto';
import { ApiKeyRepository } from '../../../src/persistence/api-key.repository.js';
import { EventSigningRepository } from '../../../src/persistence/event-signing.repository.js';
import { InboundDeliveryRepository } from '../../../src/persistence/inbound-delivery.repository.js';
import { InboundMessageRepository } from '../../../src/persistence/inbound-message.repository.js';
import { OutboundMessageRepository } from '../../../src/persistence/outbound-message.repository.js';
import { ScheduleRepository } from '../../../src/persistence/schedule.repository.js';
import { SeenSignatureRepository } from '../../../src/persistence/seen-signature.repository.js';
import { WebhookRepository } from '../../../src/persistence/webhook.repository.js';
import { WorkflowRepository } from '../../../src/persistence/workflow.repository.js';
import { describeApiKeyStoreContract } from './api-key.contract.js';
import { describeEventSigningStoreContract } from './event-signing.contract.js';
import { describeInboundDeliveryStoreContract } from './inbound-delivery.contract.js';
import { describeInboundMessageStoreContract } from './inbound-message.contract.js';
import { describeOutboundMessageStoreContract } from './outbound-message.contract.js';
import { describeScheduleStoreContract } from './schedule.contract.js';
import { describeSeenSignatureStoreContract } from './seen-signature.contract.js';
import { drizzleStore, drizzleWhere } from './store-harness.js';
import { describeWebhookStoreContract } from './webhook.contract.js';
import { describeWorkflowStoreContract } from './workflow.contract.js';

// The stores whose reads span the deployment get a database of their own (see drizzleStore).
describeApiKeyStoreContract(drizzleWhere, drizzleStore((db) => ({ store: new ApiKeyRepository(db.db) }), { isolated: true }));
describeWorkflowStoreContract(
  drizzleWhere,
  drizzleStore((db) => ({
    store: new WorkflowRepository(db.db),
    async addInstance(workflow, run) {
      const id = randomUUID();
      await db.sql`insert into workflow_instances (id, workspace_id, workflow_id, version, status, input)
                   values (${id}, ${workflow.workspaceId}, ${workflow.id}, ${run.version}, ${run.status}, '{}'::jsonb)`;
      return id;
    },
  })),
);
describeWebhookStoreContract(drizzleWhere, drizzleStore((db) => ({ store: new WebhookRepository(db.db) })));
describeEventSigningStoreContract(drizzleWhere, drizzleStore((db) => ({ store: new EventSigningRepository(db.db) })));
describeSeenSignatureStoreContract(drizzleWhere, drizzleStore((db) => ({ store: new SeenSignatureRepository(db.db) })));
describeOutboundMessageStoreContract(drizzleWhere, drizzleStore((db) => ({ store: new OutboundMessageRepository(db.db) })));
describeInboundDeliveryStoreContract(
  drizzleWhere,
  drizzleStore(async (db, peer) => ({ store: new InboundDeliveryRepository(db.db), peer: new InboundDeliveryRepository((await peer()).db) }), { isolated: true }),
);
describeInboundMessageStoreContract(
  drizzleWhere,
  drizzleStore(
    (db) => {
      const workflows = new WorkflowRepository(db.db);
      return {
        store: new InboundMessageRepository(db.db),
        setHead: async (scope, head) => {
          await workflows.withDraft(scope.workspaceId, scope.workflowId, (s) => s.updateHead(head));
        },
      };
    },
    { isolated: true },
  ),
);
describeScheduleStoreContract(
  drizzleWhere,
  drizzleStore(
    async (db, peer) => {
      const workflows = new WorkflowRepository(db.db);
      return {
        store: new ScheduleRepository(db.db),
        peer: new ScheduleRepository((await peer()).db),
        setSchedule: async (scope, schedule) => {
          await workflows.withDraft(scope.workspaceId, scope.workflowId, (s) => s.setSchedule(schedule));
        },
      };
    },
    { isolated: true },
  ),
);
