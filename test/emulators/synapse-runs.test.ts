// Batches end to end on the Synapse emulator over Azurite: real Python scripts uploaded to blob
// storage, the Livy life cycle, the abfss mount (mirror, run, sync back), failures and cancel.
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { AxiosInstance } from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteBlob, startAzuriteBlob } from './azurite.js';
import { LivyContract } from './synapse/livy-contract.js';
import { startSynapseEmulator, type SynapseEmulator } from './synapse/server.js';
import { ACCOUNT, abfss, batchOptions, livyClient, pollBatch, readBlobText, uploadText } from './synapse/test-kit.js';

const POOL = 'mmpool';

// Resolves abfss:// URIs found inside files with the documented mount convention.
const RESOLVE_PY = `import os, re
def local(uri):
    m = re.match(r"abfss://([^@]+)@([^.]+)\\.dfs\\.core\\.windows\\.net/(.*)", uri)
    return os.path.join(os.environ["MANYMODELS_ABFSS_MOUNT"], m[1] + "@" + m[2], m[3])
`;

const MAIN_PY = `import json, os, pathlib, sys
import mm_helpers
from mm_resolve import local
args = sys.argv[1:]
opts, rest = {}, iter(args)
for a in rest:
    key, eq, value = a.partition("=")
    opts[key] = value if eq else next(rest)
print("hello from the emulated spark pool")
print("argv=" + json.dumps(args))
print("run label=" + os.environ.get("MM_RUN_LABEL", "unset") + " settings=" + pathlib.Path("settings.txt").read_text().strip())
spec = json.loads(pathlib.Path(opts["--spec"]).read_text())
words = pathlib.Path(opts["--input"]).read_text()
lookup = pathlib.Path(local(spec["lookup"])).read_text()
out = pathlib.Path(opts["--out"])
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(mm_helpers.shout(words) + "|" + lookup)
report = pathlib.Path(local(spec["report"]))
report.parent.mkdir(parents=True, exist_ok=True)
report.write_text(json.dumps({"groups": 3, "status": "ok"}))
print("wrote outputs", file=sys.stderr)
`;

const FAIL_PY = `import pathlib, sys
print("about to fail")
pathlib.Path(sys.argv[1]).write_text("partial result")
def fit(group):
    raise ValueError("boom: cannot fit " + group)
fit("store-7")
`;

const SLEEP_PY = `import os, pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
print("sleeping", flush=True)
time.sleep(60)
`;

const PROBE_PY = `import os, pyspark
print("pyspark from " + os.path.relpath(pyspark.__file__, os.environ["MM_REPO_ROOT"]))
print("option env=" + os.environ["MM_FROM_OPTIONS"])
`;

/** The Python runtime's fake pyspark (pyspark-templates/tests), as a test would put it on the path. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAKE_PYSPARK = fileURLToPath(new URL('../../pyspark-templates/tests/fake_pyspark', import.meta.url));

const EVENTS_PY = `import json, sys, time
with open(sys.argv[1], "a") as f:
    for i in range(2):
        f.write(json.dumps({"event": "group_done", "n": i}) + "\\n")
        f.flush()
    time.sleep(1.5)
    f.write(json.dumps({"event": "summary"}) + "\\n")
print("events written")
`;

let azurite: AzuriteBlob;
let emu: SynapseEmulator;
let client: AxiosInstance;
let contract: LivyContract;
let jobs: ContainerClient;
let data: ContainerClient;
let results: ContainerClient;
const base = (): string => emu.batchesPath(POOL);

beforeAll(async () => {
  azurite = await startAzuriteBlob();
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  jobs = service.getContainerClient('jobs');
  data = service.getContainerClient('data');
  const lookup = service.getContainerClient('lookup');
  results = service.getContainerClient('results');
  await Promise.all([jobs.create(), data.create(), lookup.create()]);
  await Promise.all([
    uploadText(jobs, 'entry/main.py', MAIN_PY),
    uploadText(jobs, 'entry/fail.py', FAIL_PY),
    uploadText(jobs, 'entry/sleep.py', SLEEP_PY),
    uploadText(jobs, 'entry/events.py', EVENTS_PY),
    uploadText(jobs, 'entry/probe.py', PROBE_PY),
    uploadText(jobs, 'lib/mm_helpers.py', 'def shout(text):\n    return text.strip().upper()\n'),
    uploadText(jobs, 'lib/mm_resolve.py', RESOLVE_PY),
    uploadText(jobs, 'conf/settings-v2.txt', 'fast=true\n'),
    uploadText(jobs, 'runs/r1/spec.json', JSON.stringify({ lookup: abfss('lookup', 'codes.txt'), report: abfss('results', 'r1/report.json') })),
    uploadText(data, 'in/words.txt', 'many models\n'),
    uploadText(lookup, 'codes.txt', 'L-42'),
  ]);
  contract = await LivyContract.load();
  emu = await startSynapseEmulator({
    blobStorage: { connectionString: azurite.connectionString },
    // `lookup` is named only inside the spec file, so the emulator is told to mirror it.
    extraContainers: [`lookup@${ACCOUNT}`],
    timings: { syncIntervalMs: 100 },
    pythonPath: [FAKE_PYSPARK],
    env: { MM_FROM_OPTIONS: 'yes', MM_REPO_ROOT: REPO_ROOT },
  });
  client = livyClient(emu);
});

afterAll(async () => {
  await emu?.stop();
  await azurite?.stop();
});

afterEach(() => {
  expect(emu.replyProblems()).toEqual([]);
  expect(emu.invalidRequests()).toEqual([]);
});

const create = async (body: Record<string, unknown>): Promise<number> => {
  const res = await client.post(base(), body, { params: { detailed: true } });
  expect(res.status, JSON.stringify(res.data)).toBe(200);
  return res.data.id as number;
};

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a successful batch', () => {
  it('walks not_started -> starting -> running -> success, runs the uploaded script and syncs its outputs to Azurite', async () => {
    // Given a script, helper pyFiles, a --files entry and a JobSpec-like file in Azurite
    // When it is submitted with abfss:// arguments and a driver environment variable
    const id = await create(batchOptions(abfss('jobs', 'entry/main.py'), {
      args: ['--input', abfss('data', 'in/words.txt'), `--out=${abfss('data', 'out/upper.txt')}`, '--spec', abfss('jobs', 'runs/r1/spec.json'), '--label', 'plain'],
      pyFiles: [abfss('jobs', 'lib/mm_helpers.py'), abfss('jobs', 'lib/mm_resolve.py')],
      files: [`${abfss('jobs', 'conf/settings-v2.txt')}#settings.txt`],
      conf: { 'spark.yarn.appMasterEnv.MM_RUN_LABEL': 'nightly' },
    }));
    const { seen, batch, replies } = await pollBatch(client, base(), id);

    // Then every Livy state was entered in order and the poll saw them in that order
    const walk = ['not_started', 'starting', 'running', 'success'];
    expect(emu.batches.get(POOL, id)?.history.map((h) => h.state), JSON.stringify(batch.errorInfo)).toEqual(walk);
    expect(walk.filter((s) => seen.includes(s))).toEqual(seen);
    expect(seen.at(-1)).toBe('success');
    for (const reply of replies) expect(contract.checkReply('SparkBatch_GetSparkBatchJob', 200, reply.data)).toEqual([]);
    expect(batch).toMatchObject({ result: 'Succeeded', errorInfo: [], appId: expect.stringMatching(/^application_\d+_\d{4}$/) });
    const times = ['notStartedAt', 'startingAt', 'runningAt', 'successAt'].map((k) => Date.parse(String(batch.livyInfo?.[k])));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // And the log is Livy's layout with the script's stdout and stderr
    expect(batch.log).toEqual([
      'stdout: ',
      'hello from the emulated spark pool',
      expect.stringContaining('argv=["--input", "/'),
      'run label=nightly settings=fast=true',
      '\nstderr: ',
      'wrote outputs',
      '\nYARN Diagnostics: ',
    ]);

    // And the outputs, including one in a container the request never named, are in Azurite
    expect(await readBlobText(data, 'out/upper.txt')).toBe('MANY MODELS|L-42');
    expect(JSON.parse((await readBlobText(results, 'r1/report.json')) ?? '{}')).toEqual({ groups: 3, status: 'ok' });
    expect(emu.batches.get(POOL, id)?.synced).toEqual(expect.arrayContaining([abfss('data', 'out/upper.txt'), abfss('results', 'r1/report.json')]));

    // And the process saw local mount paths (whole and --name=value arguments), plain values unchanged
    const command = emu.batches.get(POOL, id)?.command ?? [];
    expect(command.slice(1)).toEqual([
      emu.localPathFor(POOL, id, abfss('jobs', 'entry/main.py')),
      '--input', emu.localPathFor(POOL, id, abfss('data', 'in/words.txt')),
      `--out=${emu.localPathFor(POOL, id, abfss('data', 'out/upper.txt'))}`,
      '--spec', emu.localPathFor(POOL, id, abfss('jobs', 'runs/r1/spec.json')),
      '--label', 'plain',
    ]);
    expect(emu.localPathFor(POOL, id, abfss('data', 'in/words.txt'))).toMatch(new RegExp(`/data@${ACCOUNT}/in/words\\.txt$`));

    // And after clean-up the scheduler and the plugin have ended
    await sleep(80);
    const ended = (await client.get(`${base()}/${id}`, { params: { detailed: true } })).data;
    expect(ended.schedulerInfo).toMatchObject({ currentState: 'Ended', endedAt: expect.any(String) });
    expect(ended.pluginInfo).toMatchObject({ currentState: 'Ended', cleanupStartedAt: expect.any(String), monitoringStartedAt: expect.any(String) });
  });

  it('syncs the events file back while the batch is running, so a client sees progress', async () => {
    const events = abfss('data', 'runs/r2/events.ndjson');
    const id = await create(batchOptions(abfss('jobs', 'entry/events.py'), { args: [events] }));
    const deadline = Date.now() + 10_000;
    let partial: string | undefined;
    while (Date.now() < deadline) {
      partial = await readBlobText(data, 'runs/r2/events.ndjson');
      if (partial?.split('\n').filter(Boolean).length === 2) break;
      await sleep(50);
    }
    expect(partial?.split('\n').filter(Boolean).map((l) => JSON.parse(l).event)).toEqual(['group_done', 'group_done']);
    expect(emu.batches.get(POOL, id)?.state).toBe('running');
    const { batch } = await pollBatch(client, base(), id);
    expect(batch.state).toBe('success');
    expect((await readBlobText(data, 'runs/r2/events.ndjson'))?.trim().split('\n')).toHaveLength(3);
    expect(emu.batches.get(POOL, id)?.syncPasses).toBeGreaterThan(2);
  });
});

describe('the process environment', () => {
  it('puts the test\'s pythonPath (here the runtime\'s fake pyspark) and env on the batch process', async () => {
    const id = await create(batchOptions(abfss('jobs', 'entry/probe.py')));
    const { batch } = await pollBatch(client, base(), id);
    expect(batch.state, JSON.stringify(batch.errorInfo)).toBe('success');
    expect(batch.log).toEqual(expect.arrayContaining(['pyspark from pyspark-templates/tests/fake_pyspark/pyspark/__init__.py', 'option env=yes']));
  });
});

describe('failures', () => {
  it('ends dead with errorInfo (source User, the stderr tail) and the traceback in the log; partial outputs are synced', async () => {
    const id = await create(batchOptions(abfss('jobs', 'entry/fail.py'), { args: [abfss('data', 'failed/partial.txt')] }));
    const { batch } = await pollBatch(client, base(), id);
    expect(emu.batches.get(POOL, id)?.history.map((h) => h.state)).toEqual(['not_started', 'starting', 'running', 'dead']);
    expect(batch).toMatchObject({ state: 'dead', result: 'Failed' });
    expect(batch.errorInfo).toEqual([{ errorCode: 'LIVY_JOB_STATE_DEAD', source: 'User', message: expect.stringMatching(/Traceback[\s\S]*ValueError: boom: cannot fit store-7$/) }]);
    expect(batch.log).toContain('ValueError: boom: cannot fit store-7');
    expect(batch.log?.at(-1)).toBe('User application exited with status 1.');
    expect(batch.livyInfo?.deadAt).toEqual(expect.any(String));
    expect(await readBlobText(data, 'failed/partial.txt')).toBe('partial result');
  });

  it('ends dead (User) when the file does not exist in storage, without starting a process', async () => {
    const before = emu.batches.processesStarted();
    const id = await create(batchOptions(abfss('jobs', 'entry/missing.py')));
    const { batch } = await pollBatch(client, base(), id);
    expect(batch.state).toBe('dead');
    expect(batch.errorInfo?.[0]).toMatchObject({ source: 'User', message: `java.io.FileNotFoundException: ${abfss('jobs', 'entry/missing.py')} does not exist` });
    expect(emu.batches.processesStarted()).toBe(before);
  });

  it('ends error (System) when the interpreter cannot start', async () => {
    const broken = await startSynapseEmulator({ blobStorage: { connectionString: azurite.connectionString }, python: '/nonexistent/python3' });
    try {
      const res = await livyClient(broken).post(broken.batchesPath(POOL), batchOptions(abfss('jobs', 'entry/main.py')));
      const { batch } = await pollBatch(livyClient(broken), broken.batchesPath(POOL), res.data.id as number);
      expect(batch).toMatchObject({ state: 'error', result: 'Failed' });
      expect(batch.errorInfo?.[0]).toMatchObject({ source: 'System', errorCode: 'LIVY_JOB_STATE_ERROR', message: expect.stringContaining('/nonexistent/python3') });
    } finally {
      await broken.stop();
    }
  });
});

describe('cancel', () => {
  it('DELETE stops the running script: killed, Cancelled, process gone, files written before the kill synced', async () => {
    // Given a running script that has written its pid (seen in Azurite through the periodic sync)
    const id = await create(batchOptions(abfss('jobs', 'entry/sleep.py'), { args: [abfss('data', 'sleep/pid.txt')] }));
    let pid: string | undefined;
    for (const deadline = Date.now() + 10_000; !pid && Date.now() < deadline; await sleep(25)) pid = await readBlobText(data, 'sleep/pid.txt');
    expect(pid).toMatch(/^\d+$/);
    expect(processAlive(Number(pid))).toBe(true);

    // When it is cancelled
    const res = await client.delete(`${base()}/${id}`);
    expect(res.status).toBe(200);

    // Then it ends killed with no errors, and the process is gone
    const { batch } = await pollBatch(client, base(), id);
    expect(emu.batches.get(POOL, id)?.history.map((h) => h.state)).toEqual(['not_started', 'starting', 'running', 'killed']);
    expect(batch).toMatchObject({ state: 'killed', result: 'Cancelled', errorInfo: [] });
    expect(batch.schedulerInfo?.cancellationRequestedAt).toEqual(expect.any(String));
    expect(batch.log).toContain('sleeping');
    expect(processAlive(Number(pid))).toBe(false);
  });
});
