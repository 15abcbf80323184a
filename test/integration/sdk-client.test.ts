import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstanceUpdatedDocument,
  PublishWorkflowDocument,
  StartWorkflowDocument,
  WorkflowBuilderClient,
  WorkflowBuilderError,
  WorkflowDocument,
} from '../../src/sdk/index.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

test('the typed SDK builds, publishes, starts and follows a workflow', async () => {
  const sdk = new WorkflowBuilderClient({ url: server.url, apiKey: server.apiKey, webSocketImpl: WebSocket });
  try {
    const { createWorkflow } = await sdk.request(CreateWorkflowDocument, { input: { name: 'From the SDK' } });
    await sdk.request(ApplyEditsDocument, {
      workflowId: createWorkflow.id,
      edits: [
        { addStep: { id: 'start', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '{{trigger.phone}}', text: 'Hi' }, after: { stepId: 'start', port: 'next' } } },
      ],
    });
    const { publishWorkflow } = await sdk.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
    expect(publishWorkflow.version.version).toBe(1);

    const { startWorkflow } = await sdk.request(StartWorkflowDocument, { workflowId: createWorkflow.id, input: { phone: '+15550100' } });
    const states: string[] = [];
    for await (const update of sdk.subscribe(InstanceUpdatedDocument, { instanceId: startWorkflow.instance.id, since: 0 })) {
      if (update.instanceUpdated.event.entity === 'INSTANCE') states.push(update.instanceUpdated.event.toStatus);
      if (update.instanceUpdated.event.toStatus === 'COMPLETED') break;
    }
    expect(states).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);

    const err = await sdk.request(WorkflowDocument, { id: '00000000-0000-4000-8000-000000000000' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowBuilderError);
    expect((err as WorkflowBuilderError).code).toBe('NOT_FOUND');
  } finally {
    await sdk.close();
  }
});
