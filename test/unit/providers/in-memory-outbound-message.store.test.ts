import { InMemoryOutboundMessageStore } from '../../fixtures/in-memory-outbound-message.store.js';
import { outboundMessageStoreContract } from '../../fixtures/outbound-message-store.contract.js';

// The fake the provider tests rely on must keep the same contract as the Postgres repository.
const fake = new InMemoryOutboundMessageStore();
outboundMessageStoreContract('in-memory fake', () => fake);
