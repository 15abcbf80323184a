import { InMemoryOutboundMessageStore } from '../../fixtures/in-memory-outbound-message.store.js';
import { describeOutboundMessageStoreContract } from './outbound-message.contract.js';

// The fake the provider tests rely on must keep the same contract as the Postgres repository.
describeOutboundMessageStoreContract('in-memory fake', async () => ({
  store: new InMemoryOutboundMessageStore(),
  newScope: async () => {
    throw new Error('the outbound store is not workspace-scoped');
  },
  close: async () => {},
}));
