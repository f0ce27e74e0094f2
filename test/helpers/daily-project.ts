// A daily store × item forecast project on sample data, for the tests of the views that watch
// runs (the live progress view and the dashboard): one pipeline `daily`, one local worker.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeSampleData, type ProjectKit } from './project.js';

export interface DailyProjectOptions {
  /** The `project:` name. */
  name: string;
  /** The pipeline's `model:` value (YAML flow text, e.g. `{ type: linear, holdout: 14 }`). */
  model: string;
  stores: number;
  items: number;
  metrics?: readonly string[];
  /** Extra pipeline keys, YAML lines indented as the pipeline's own keys (4 spaces). */
  extra?: string;
}

/** A fresh folder (removed with the kit) holding data/sales.csv and its pipelines.yaml. */
export function dailyProject(kit: ProjectKit, options: DailyProjectOptions): string {
  const dir = kit.tempDir();
  writeSampleData(path.join(dir, 'data/sales.csv'), { stores: options.stores, items: options.items, days: 200, seed: 3 });
  writeFileSync(
    path.join(dir, 'pipelines.yaml'),
    `version: 1
project: ${options.name}
targets:
  local: { engine: local, workers: 1 }
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: ${options.model}
    metrics: [${(options.metrics ?? ['wape']).join(', ')}]
${options.extra ?? ''}    scoring: { horizon: 14, table: predictions }
`,
  );
  return dir;
}
