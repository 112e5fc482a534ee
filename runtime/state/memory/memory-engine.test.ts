import { runStoreContract } from '../store.contract.js';
import { MemoryEngine } from './memory-engine.js';

runStoreContract('memory', {
  persistent: false,
  open: async () => ({
    engine: new MemoryEngine(),
    reopen: async () => new MemoryEngine(),
    cleanup: async () => undefined,
  }),
});
