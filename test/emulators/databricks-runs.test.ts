// One-time runs end to end on the emulator: upload a real Python script, submit it, watch the
// official life cycle, read its output; failures, idempotency, cancel, timeouts, list.
import fs from 'node:fs';
import type { AxiosInstance } from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorClient, pollRun, pythonTaskSubmit, uploadDbfsInBlocks, type RunView } from './databricks/emulator-test-client.js';
import { getJobsApiValidator } from './databricks/openapi3-validator.js';
import { startDatabricksEmulator, type DatabricksEmulator } from './databricks/server.js';

const jobsSpec = getJobsApiValidator();

// Padding makes the uploaded script larger than one 1 MB DBFS block.
const HELLO_PY = `import json, pathlib, sys
${'#'.repeat(99)}\n`.repeat(1) + `${'# padding to exceed one DBFS block\n'.repeat(40_000)}
args = sys.argv[1:]
opts = dict(zip(args[::2], args[1::2]))
print("hello from the emulated cluster")
print("argv=" + json.dumps(args))
text = pathlib.Path(opts["--input"]).read_text()
out = pathlib.Path(opts["--out"])
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(text.upper())
print("wrote " + str(len(text)) + " chars", file=sys.stderr)
`;

const FAIL_PY = `import sys
print("about to fail")
def load(spec):
    raise ValueError("boom: bad input " + spec)
load(sys.argv[1])
`;

const SLEEP_PY = `import os, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
print("sleeping", flush=True)
time.sleep(60)
`;

const VOLUME_PY = `import sys
sys.path.insert(0, sys.argv[1])
import mm_helpers
print(mm_helpers.greet("volumes"))
`;

let emu: DatabricksEmulator;
let client: AxiosInstance;

beforeAll(async () => {
  // Slower than the defaults so a 10 ms poll sees most states even on a busy machine.
  emu = await startDatabricksEmulator({ timings: { queuedMs: 120, pendingMs: 100, terminatingMs: 80, cancelDelayMs: 300 } });
  client = emulatorClient(emu);
  await client.post('/api/2.0/dbfs/put', { path: '/data/in.txt', contents: Buffer.from('many models').toString('base64') });
  await client.post('/api/2.0/dbfs/put', { path: '/jobs/fail.py', contents: Buffer.from(FAIL_PY).toString('base64') });
  await client.post('/api/2.0/dbfs/put', { path: '/jobs/sleep.py', contents: Buffer.from(SLEEP_PY).toString('base64') });
});

afterAll(async () => {
  await emu.stop();
});

const submit = async (body: Record<string, unknown>, version = '2.2'): Promise<number> => {
  const res = await client.post(`/api/${version}/jobs/runs/submit`, body);
  expect(res.status, JSON.stringify(res.data)).toBe(200);
  expect(jobsSpec.validateResponse(`/api/${version}/jobs/runs/submit`, 'POST', res.status, res.data)).toEqual([]);
  return (res.data as { run_id: number }).run_id;
};

const output = async (taskRunId: number) => {
  const res = await client.get('/api/2.2/jobs/runs/get-output', { params: { run_id: taskRunId } });
  expect(jobsSpec.validateResponse('/api/2.2/jobs/runs/get-output', 'GET', res.status, res.data)).toEqual([]);
  return res;
};

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitForFile(file: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') === '') {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await sleep(10);
  }
  return fs.readFileSync(file, 'utf8');
}

describe('a successful run', () => {
  it('walks QUEUED -> PENDING -> RUNNING -> TERMINATING -> TERMINATED and runs the uploaded script', async () => {
    // Given a script of more than 1 MB streamed to DBFS in blocks
    const script = Buffer.from(HELLO_PY);
    expect(script.length).toBeGreaterThan(1024 * 1024);
    expect(await uploadDbfsInBlocks(client, 'dbfs:/jobs/hello.py', script)).toBe(2);

    // When it is submitted on Jobs 2.2 (queued by default) with cluster-style paths as parameters
    const runId = await submit(pythonTaskSubmit('dbfs:/jobs/hello.py', ['--input', '/dbfs/data/in.txt', '--out', 'dbfs:/results/out.txt', '--label', 'plain-text']));
    const { seen, run, replies } = await pollRun(client, runId);

    // Then every official state was entered in order, the poll saw them in that order, and the run succeeded
    const walk = ['QUEUED', 'PENDING', 'RUNNING', 'TERMINATING', 'TERMINATED'];
    expect(emu.runs.get(runId)?.history.map((h) => h.state)).toEqual(walk);
    expect(emu.runs.get(run.tasks?.[0]?.run_id as number)?.history.map((h) => h.state)).toEqual(walk);
    expect(seen[0]).toBe('QUEUED');
    expect(seen.at(-1)).toBe('TERMINATED');
    expect(walk.filter((s) => seen.includes(s))).toEqual(seen);
    expect(run.state).toMatchObject({ life_cycle_state: 'TERMINATED', result_state: 'SUCCESS', user_cancelled_or_timedout: false });
    expect(run.status).toMatchObject({ state: 'TERMINATED', termination_details: { code: 'SUCCESS', type: 'SUCCESS' } });
    expect(run.run_page_url).toBe(`${emu.url}/?o=${emu.workspaceId}#job/${(run as RunView & { job_id: number }).job_id}/run/${runId}`);
    expect(run.end_time).toBeGreaterThanOrEqual(run.start_time ?? Number.POSITIVE_INFINITY);
    for (const reply of replies) expect(jobsSpec.validateResponse('/api/2.2/jobs/runs/get', 'GET', reply.status, reply.data)).toEqual([]);

    // And the task run has its own id, output and logs; the parameters were mapped to local storage
    const taskRun = run.tasks?.[0];
    expect(taskRun?.run_id).not.toBe(runId);
    const out = await output(taskRun?.run_id as number);
    expect(out.status).toBe(200);
    expect(out.data.logs).toContain('hello from the emulated cluster');
    expect(out.data.logs).toContain('wrote 11 chars');
    expect(out.data.logs).not.toContain('dbfs:/');
    expect(out.data.logs).toContain('"--label", "plain-text"');
    expect(out.data.logs_truncated).toBe(false);
    expect(out.data.error).toBeUndefined();
    expect(out.data.metadata).toMatchObject({ run_id: taskRun?.run_id, job_run_id: runId, task_key: 'train' });
    expect(fs.readFileSync(emu.localPathFor('dbfs:/results/out.txt') as string, 'utf8')).toBe('MANY MODELS');
  });

  it('starts at PENDING on Jobs 2.1, where runs are not queued by default', async () => {
    const runId = await submit(pythonTaskSubmit('dbfs:/jobs/hello.py', ['--input', '/dbfs/data/in.txt', '--out', '/dbfs/results/out21.txt']), '2.1');
    const { run } = await pollRun(client, runId, '2.1');
    expect(emu.runs.get(runId)?.history.map((h) => h.state)).toEqual(['PENDING', 'RUNNING', 'TERMINATING', 'TERMINATED']);
    expect(run.state.result_state).toBe('SUCCESS');
  });

  it('runs a script and its package uploaded through the Files API to a volume', async () => {
    const put = (p: string, text: string) => client.put(`/api/2.0/fs/files${p}`, Buffer.from(text), { headers: { 'Content-Type': 'application/octet-stream' } });
    expect((await put('/Volumes/main/mm/code/run.py', VOLUME_PY)).status).toBe(204);
    expect((await put('/Volumes/main/mm/code/lib/mm_helpers/__init__.py', 'def greet(who):\n    return "package loaded from " + who\n')).status).toBe(204);
    const runId = await submit(pythonTaskSubmit('/Volumes/main/mm/code/run.py', ['/Volumes/main/mm/code/lib']));
    const { run } = await pollRun(client, runId);
    expect(run.state.result_state).toBe('SUCCESS');
    expect((await output(run.tasks?.[0]?.run_id as number)).data.logs).toContain('package loaded from volumes');
  });

  it('runs a workspace file but fails a workspace notebook', async () => {
    await client.post('/api/2.0/workspace/mkdirs', { path: '/Shared/mm' });
    await client.post('/api/2.0/workspace/import', { path: '/Shared/mm/ws.py', format: 'AUTO', content: Buffer.from('print("from the workspace")\n').toString('base64') });
    await client.post('/api/2.0/workspace/import', { path: '/Shared/mm/nb.py', format: 'SOURCE', language: 'PYTHON', content: Buffer.from('print(1)\n').toString('base64') });
    const ok = await pollRun(client, await submit(pythonTaskSubmit('/Workspace/Shared/mm/ws.py')));
    expect(ok.run.state.result_state).toBe('SUCCESS');
    const nb = await pollRun(client, await submit(pythonTaskSubmit('/Shared/mm/nb.py')));
    expect(nb.run.state.result_state).toBe('FAILED');
    expect(nb.run.status?.termination_details?.code).toBe('INVALID_RUN_CONFIGURATION');
  });
});

describe('a failing run', () => {
  it('ends TERMINATED/FAILED with the exception as error and the traceback as error_trace', async () => {
    const runId = await submit(pythonTaskSubmit('dbfs:/jobs/fail.py', ['spec.json']));
    const { run } = await pollRun(client, runId);
    expect(run.state).toMatchObject({ life_cycle_state: 'TERMINATED', result_state: 'FAILED' });
    expect(run.status?.termination_details).toMatchObject({ code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR' });
    const out = await output(run.tasks?.[0]?.run_id as number);
    expect(out.data.error).toBe('ValueError: boom: bad input spec.json');
    expect(out.data.error_trace).toContain('Traceback (most recent call last)');
    expect(out.data.logs).toContain('about to fail');
  });

  it('fails with RESOURCE_NOT_FOUND when the python_file was never uploaded', async () => {
    const { run } = await pollRun(client, await submit(pythonTaskSubmit('dbfs:/jobs/missing.py')));
    expect(run.state.result_state).toBe('FAILED');
    expect(run.status?.termination_details?.code).toBe('RESOURCE_NOT_FOUND');
  });

  it('skips a dependent task when its upstream task fails', async () => {
    const body = pythonTaskSubmit('dbfs:/jobs/fail.py', ['x']);
    const first = (body.tasks as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    body.tasks = [first, { ...first, task_key: 'score', depends_on: [{ task_key: 'train' }], spark_python_task: { python_file: 'dbfs:/jobs/hello.py' } }];
    const { run } = await pollRun(client, await submit(body));
    expect(run.state.result_state).toBe('FAILED');
    expect(run.tasks?.map((t) => [t.task_key, t.state.life_cycle_state, t.state.result_state])).toEqual([
      ['train', 'TERMINATED', 'FAILED'],
      ['score', 'SKIPPED', 'UPSTREAM_FAILED'],
    ]);
  });

  it('answers get-output on the parent run and on unknown runs with the real 400s', async () => {
    const runId = emu.runs.list()[0]?.runId as number;
    const parent = await output(runId);
    expect(parent.status).toBe(400);
    expect(parent.data).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: 'Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.',
    });
    const unknown = await client.get('/api/2.1/jobs/runs/get', { params: { run_id: 123 } });
    expect(unknown.status).toBe(400);
    expect(unknown.data).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: 'Run 123 does not exist' });
    expect(jobsSpec.validateResponse('/api/2.1/jobs/runs/get', 'GET', unknown.status, unknown.data)).toEqual([]);
  });
});

describe('idempotency_token', () => {
  it('returns the same run for the same token and launches one process', async () => {
    const runsBefore = emu.runs.list().length;
    const processesBefore = emu.runs.processesStarted();
    const body = pythonTaskSubmit('dbfs:/jobs/hello.py', ['--input', '/dbfs/data/in.txt', '--out', '/dbfs/results/idem.txt'], { idempotency_token: 'train-2024-06-01-store-item' });
    const first = await submit(body);
    const second = await submit(body);
    expect(second).toBe(first);
    await pollRun(client, first);
    const third = await submit(body);
    expect(third).toBe(first);
    expect(emu.runs.list().length).toBe(runsBefore + 1);
    expect(emu.runs.processesStarted()).toBe(processesBefore + 1);
  });
});

describe('cancel and timeouts', () => {
  it('cancels asynchronously: the run is still active when cancel returns, then ends CANCELED and the process is gone', async () => {
    const pidFile = emu.localPathFor('dbfs:/pids/cancel.pid') as string;
    const runId = await submit(pythonTaskSubmit('dbfs:/jobs/sleep.py', ['dbfs:/pids/cancel.pid']));
    fs.mkdirSync(pidFile.replace(/\/[^/]+$/, ''), { recursive: true });
    const pid = Number(await waitForFile(pidFile));
    expect(processAlive(pid)).toBe(true);

    const cancel = await client.post('/api/2.2/jobs/runs/cancel', { run_id: runId });
    expect(cancel.status).toBe(200);
    expect(cancel.data).toEqual({});
    expect(jobsSpec.validateResponse('/api/2.2/jobs/runs/cancel', 'POST', cancel.status, cancel.data)).toEqual([]);
    const right = await client.get('/api/2.2/jobs/runs/get', { params: { run_id: runId } });
    expect(right.data.state.life_cycle_state).toBe('RUNNING');

    const { run } = await pollRun(client, runId);
    expect(emu.runs.get(runId)?.history.map((h) => h.state).slice(-3)).toEqual(['RUNNING', 'TERMINATING', 'TERMINATED']);
    expect(run.state).toMatchObject({ result_state: 'CANCELED', user_cancelled_or_timedout: true });
    expect(run.status?.termination_details).toMatchObject({ code: 'USER_CANCELED' });
    expect(processAlive(pid)).toBe(false);

    const again = await client.post('/api/2.2/jobs/runs/cancel', { run_id: runId });
    expect(again.status).toBe(200);
    const unknown = await client.post('/api/2.2/jobs/runs/cancel', { run_id: 42 });
    expect(unknown.data).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: 'Run 42 does not exist' });
  });

  it('enforces timeout_seconds on the run and on the task (TIMEDOUT, process killed)', async () => {
    fs.mkdirSync(emu.localPathFor('dbfs:/pids') as string, { recursive: true });
    const runLevel = await submit(pythonTaskSubmit('dbfs:/jobs/sleep.py', ['/dbfs/pids/run-timeout.pid'], { timeout_seconds: 1 }));
    const taskBody = pythonTaskSubmit('dbfs:/jobs/sleep.py', ['/dbfs/pids/task-timeout.pid']);
    ((taskBody.tasks as Array<Record<string, unknown>>)[0] as Record<string, unknown>).timeout_seconds = 1;
    const taskLevel = await submit(taskBody);
    const [a, b] = await Promise.all([pollRun(client, runLevel), pollRun(client, taskLevel)]);
    for (const { run } of [a, b]) {
      expect(run.state).toMatchObject({ life_cycle_state: 'TERMINATED', result_state: 'TIMEDOUT', user_cancelled_or_timedout: true });
      expect(run.tasks?.[0]?.state.result_state).toBe('TIMEDOUT');
    }
    for (const name of ['run-timeout.pid', 'task-timeout.pid']) {
      expect(processAlive(Number(fs.readFileSync(emu.localPathFor(`dbfs:/pids/${name}`) as string, 'utf8')))).toBe(false);
    }
  });
});

describe('runs/list', () => {
  it('lists newest first with page tokens, filters, and rejects active_only with completed_only', async () => {
    const all = emu.runs.list().length;
    const first = await client.get('/api/2.2/jobs/runs/list', { params: { limit: 2, completed_only: true } });
    expect(first.status).toBe(200);
    expect(jobsSpec.validateResponse('/api/2.2/jobs/runs/list', 'GET', first.status, first.data)).toEqual([]);
    expect(first.data.runs).toHaveLength(2);
    expect(first.data.has_more).toBe(true);
    expect(first.data.runs[0].start_time).toBeGreaterThanOrEqual(first.data.runs[1].start_time);
    expect(first.data.runs[0].tasks).toBeUndefined();
    const second = await client.get('/api/2.2/jobs/runs/list', { params: { limit: 2, completed_only: true, page_token: first.data.next_page_token, expand_tasks: true } });
    const pageOne = first.data.runs.map((r: { run_id: number }) => r.run_id);
    for (const r of second.data.runs as Array<{ run_id: number; start_time: number }>) {
      expect(pageOne).not.toContain(r.run_id);
      expect(r.start_time).toBeLessThanOrEqual(first.data.runs[1].start_time);
    }
    expect(second.data.runs[0].tasks).toHaveLength(1);
    expect(second.data.prev_page_token).toBeDefined();
    const everything = await client.get('/api/2.1/jobs/runs/list', { params: { limit: 25 } });
    expect(everything.data.runs.length).toBe(Math.min(all, 25));
    const both = await client.get('/api/2.2/jobs/runs/list', { params: { active_only: true, completed_only: true } });
    expect(both.data.error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});

describe('emulator options', () => {
  it('keeps only the last maxLogBytes of the logs and says they were truncated', async () => {
    const small = await startDatabricksEmulator({ maxLogBytes: 1000, timings: { queuedMs: 5, pendingMs: 5, terminatingMs: 5 } });
    try {
      const c = emulatorClient(small);
      await c.post('/api/2.0/dbfs/put', { path: '/jobs/noisy.py', contents: Buffer.from('for i in range(500):\n    print("line", i)\nprint("THE END")\n').toString('base64') });
      const { run } = await pollRun(c, (await c.post('/api/2.2/jobs/runs/submit', pythonTaskSubmit('dbfs:/jobs/noisy.py'))).data.run_id as number);
      const out = await c.get('/api/2.2/jobs/runs/get-output', { params: { run_id: run.tasks?.[0]?.run_id } });
      expect(out.data.logs_truncated).toBe(true);
      expect(Buffer.byteLength(out.data.logs as string)).toBeLessThanOrEqual(1000);
      expect(out.data.logs).toMatch(/THE END\n$/);
      expect(out.data.logs).not.toContain('line 0\n');
    } finally {
      await small.stop();
    }
  });

  it('ends the run INTERNAL_ERROR when the configured interpreter cannot start', async () => {
    const broken = await startDatabricksEmulator({ python: '/nonexistent/python3', timings: { queuedMs: 5, pendingMs: 5, terminatingMs: 5 } });
    try {
      const c = emulatorClient(broken);
      await c.post('/api/2.0/dbfs/put', { path: '/jobs/x.py', contents: Buffer.from('print(1)\n').toString('base64') });
      const { run } = await pollRun(c, (await c.post('/api/2.2/jobs/runs/submit', pythonTaskSubmit('dbfs:/jobs/x.py'))).data.run_id as number);
      expect(run.state).toMatchObject({ life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED' });
      expect(run.state.state_message).toContain('Could not start /nonexistent/python3');
      expect(broken.runs.processesStarted()).toBe(0);
    } finally {
      await broken.stop();
    }
  });
});

describe('the emulator itself', () => {
  it('sent only spec-valid replies and received only valid requests in this file', () => {
    expect(emu.replyProblems().map((r) => ({ op: r.operation, status: r.status, issues: r.replyIssues }))).toEqual([]);
    expect(emu.invalidRequests()).toEqual([]);
    expect(emu.requests.every((r) => r.tokenKind === 'pat')).toBe(true);
    expect(JSON.stringify(emu.requests)).not.toContain('dapi');
  });
});
