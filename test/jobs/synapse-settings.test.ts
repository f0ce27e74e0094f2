// A synapse target's settings as the backend runs with them (every default, every refusal as
// MM407 when the target is resolved, each at its key), the lake's abfss:// URIs, and the Livy batch built for a run.
import { describe, expect, it } from 'vitest';
import { buildBatchRequest, RUN_TAG } from '../../src/jobs/synapse/batch-request.js';
import { abfssUri, lakeLocation } from '../../src/jobs/synapse/lake-storage.js';
import type { RawSynapse } from '../../src/pipeline/types.js';
import { synapseProblems, synapseTarget } from '../helpers/engine-settings.js';
import type { RemoteFileStore } from '../../src/jobs/remote/remote-store.js';

const base = { endpoint: 'https://contoso-syn.dev.azuresynapse.net', spark_pool: 'mmpool', storage: { account_url: 'https://contosodata.dfs.core.windows.net', container: 'lake' } };

/** The one problem found, as `path: message`. */
function refused(raw: unknown): { message: string } {
  const problems = synapseProblems(raw as RawSynapse | undefined);
  expect(problems).toHaveLength(1);
  expect(problems[0]!.code).toBe('MM407');
  return { message: `${problems[0]!.path}: ${problems[0]!.message}` };
}

const lakeSettings = (storage: NonNullable<RawSynapse['storage']>) => synapseTarget({ ...base, storage }).lake;
const synapseSettings = (raw: RawSynapse) => synapseTarget(raw);

describe('synapse settings', () => {
  it('applies the defaults: Small nodes, 2 executors, a 5 s first poll, the manymodels folder', () => {
    expect(synapseSettings(base)).toEqual({
      endpoint: 'https://contoso-syn.dev.azuresynapse.net',
      sparkPool: 'mmpool',
      lake: { blobAccountUrl: 'https://contosodata.blob.core.windows.net', account: 'contosodata', dfsHost: 'contosodata.dfs.core.windows.net', container: 'lake', path: 'manymodels' },
      executorSize: 'Small',
      executors: 2,
      pollIntervalMs: 5000,
    });
  });

  it('reads the account from a blob, dfs, sovereign-cloud or emulator URL', () => {
    expect(lakeSettings({ account_url: 'https://acct01.blob.core.windows.net/', container: 'c-1', path: '/teams/retail/' })).toMatchObject({
      blobAccountUrl: 'https://acct01.blob.core.windows.net', dfsHost: 'acct01.dfs.core.windows.net', path: 'teams/retail',
    });
    expect(lakeSettings({ account_url: 'https://acct.dfs.core.chinacloudapi.cn', container: 'lake' })).toMatchObject({
      blobAccountUrl: 'https://acct.blob.core.chinacloudapi.cn', dfsHost: 'acct.dfs.core.chinacloudapi.cn',
    });
    expect(lakeSettings({ account_url: 'https://127.0.0.1:10000/devstoreaccount1', container: 'lake' })).toMatchObject({
      blobAccountUrl: 'https://127.0.0.1:10000/devstoreaccount1', account: 'devstoreaccount1', dfsHost: 'devstoreaccount1.dfs.core.windows.net',
    });
  });

  it('refuses what cannot work before anything is uploaded', () => {
    expect(refused(undefined).message).toContain('no synapse section');
    expect(refused({ ...base, endpoint: 'http://contoso-syn.dev.azuresynapse.net' }).message).toMatch(/^targets\.t\.synapse\.endpoint: .*is not https/);
    expect(refused({ ...base, endpoint: 'https://contoso-syn.dev.azuresynapse.net/livyApi' }).message).toContain('has a path');
    expect(refused({ ...base, storage: undefined }).message).toContain('storage is required');
    expect(refused({ ...base, storage: { ...base.storage, account_url: 'http://127.0.0.1:10000/devstoreaccount1' } }).message).toContain('is not https');
    expect(refused({ ...base, storage: { ...base.storage, account_url: 'https://example.com' } }).message).toContain('not a storage account endpoint');
    expect(refused({ ...base, storage: { ...base.storage, container: 'Bad_Name' } }).message).toMatch(/^targets\.t\.synapse\.storage\.container: .*not a valid container name/);
    expect(refused({ ...base, storage: { ...base.storage, path: 'a/../b' } }).message).toContain('not a folder path');
    expect(refused({ ...base, spark_pool: 'a/b' }).message).toContain('not a Spark pool name');
  });
});

describe('the lake and the batch', () => {
  it('names lake files by abfss:// URI, with blob names as API paths', () => {
    const lake = lakeSettings(base.storage);
    const root = lakeLocation({} as RemoteFileStore, lake, lake.path);
    expect(root.child('cas').apiPath('x.json')).toBe('manymodels/cas/x.json');
    expect(root.child('runs/r1').uri('events.ndjson')).toBe('abfss://lake@contosodata.dfs.core.windows.net/manymodels/runs/r1/events.ndjson');
    expect(abfssUri(lake, 'manymodels')).toBe('abfss://lake@contosodata.dfs.core.windows.net/manymodels');
  });

  it('maps the node size to memory and cores, fixes the executors, lets the pipeline conf win and tags the run', () => {
    const request = buildBatchRequest({
      runId: '20261126-091052-train-4eaa52',
      stage: 'train',
      pipeline: 'daily',
      file: 'abfss://lake@a.dfs.core.windows.net/m/cas/e.py',
      pythonFiles: ['abfss://lake@a.dfs.core.windows.net/m/cas/z.zip'],
      arguments: ['--executor', 'spark'],
      sparkConf: { 'spark.sql.adaptive.enabled': 'false', 'spark.dynamicAllocation.enabled': 'true' },
      settings: { executorSize: 'Large', executors: 6 },
    });
    expect(request).toEqual({
      name: 'manymodels-daily-20261126-091052-train-4eaa52',
      file: 'abfss://lake@a.dfs.core.windows.net/m/cas/e.py',
      pythonFiles: ['abfss://lake@a.dfs.core.windows.net/m/cas/z.zip'],
      arguments: ['--executor', 'spark'],
      configuration: {
        'spark.dynamicAllocation.enabled': 'true',
        'spark.dynamicAllocation.minExecutors': '6',
        'spark.dynamicAllocation.maxExecutors': '6',
        'spark.sql.adaptive.enabled': 'false',
      },
      driverMemory: '112g', driverCores: 16, executorMemory: '112g', executorCores: 16, executorCount: 6,
      tags: { [RUN_TAG]: '20261126-091052-train-4eaa52', manymodels_pipeline: 'daily', manymodels_stage: 'train' },
    });
  });
});
