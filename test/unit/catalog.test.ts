// The language's table of model types per task agrees with the runtime's catalog.
import { describe, expect, it } from 'vitest';
import { MODEL_CATALOG, MODEL_TYPES_BY_TASK, TASKS } from '../../src/pipeline/catalog.js';

describe('model catalog', () => {
  it('offers exactly the model types the runtime implements, for the same tasks', () => {
    for (const task of TASKS) {
      const runtime = Object.entries(MODEL_CATALOG)
        .filter(([, entry]) => entry.tasks.includes(task))
        .map(([name]) => name)
        .sort();
      expect([...MODEL_TYPES_BY_TASK[task]].sort(), task).toEqual(runtime);
    }
  });
});
