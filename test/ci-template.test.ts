// docs/azure-pipelines.yml: parses as YAML, names only tasks and versions Azure Pipelines has,
// runs the stages in order with the promotion as the gate, signs in through a workload
// identity federation service connection, and publishes the JUnit reports and the run state.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const repo = path.resolve(import.meta.dirname, '..');
const text = readFileSync(path.join(repo, 'docs/azure-pipelines.yml'), 'utf8');

/**
 * Built-in Azure Pipelines tasks at versions that exist (checked against the task reference on
 * learn.microsoft.com: azure-cli-v2, node-tool-v0, use-python-version-v0, cache-v2,
 * publish-test-results-v2, publish-pipeline-artifact-v1, download-pipeline-artifact-v2,
 * bash-v3, manual-validation-v0 and -v1, cmd-line-v2, powershell-v2).
 */
const REAL_TASKS = new Set([
  'AzureCLI@2',
  'NodeTool@0',
  'UseNode@1',
  'UsePythonVersion@0',
  'Cache@2',
  'PublishTestResults@2',
  'PublishPipelineArtifact@1',
  'DownloadPipelineArtifact@2',
  'Bash@3',
  'CmdLine@2',
  'PowerShell@2',
  'ManualValidation@0',
  'ManualValidation@1',
]);

type Node = unknown;

/** Every value of `key` anywhere in the document. */
function collect(node: Node, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const n of node) collect(n, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}

/** The steps of every job of a stage, template-expression branches included. */
function stepsOf(stage: Record<string, unknown>): Array<Record<string, unknown>> {
  return collect(stage.jobs, 'steps').flat() as Array<Record<string, unknown>>;
}

describe('docs/azure-pipelines.yml', () => {
  const doc = parseDocument(text);
  const pipeline = doc.toJS() as { stages: Array<Record<string, unknown>>; variables: unknown[]; parameters: Array<Record<string, unknown>> };

  it('parses as YAML without errors or warnings', () => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    expect(doc.warnings.map((e) => e.message)).toEqual([]);
  });

  it('names only real task versions', () => {
    const tasks = collect(pipeline, 'task').map(String);
    expect(tasks.length).toBeGreaterThan(10);
    expect(tasks.filter((t) => !REAL_TASKS.has(t))).toEqual([]);
  });

  it('runs validate → train → promote → score, each after the one before', () => {
    const stages = pipeline.stages.map((s) => [s.stage, s.dependsOn ?? null]);
    expect(stages).toEqual([
      ['Validate', null],
      ['Train', 'Validate'],
      ['Promote', 'Train'],
      ['Score', 'Promote'],
    ]);
  });

  it('runs each manymodels command of its stage, with --junit where there is one', () => {
    const scripts = (name: string): string =>
      stepsOf(pipeline.stages.find((s) => s.stage === name)!)
        .map((s) => String(s.bash ?? (s.inputs as Record<string, unknown> | undefined)?.inlineScript ?? ''))
        .join('\n');
    expect(scripts('Validate')).toMatch(/manymodels validate --target/);
    expect(scripts('Train')).toMatch(/manymodels train --junit /);
    expect(scripts('Promote')).toMatch(/manymodels promote --run "\$\(trainRunId\)" --junit /);
    expect(scripts('Score')).toMatch(/manymodels score --junit /);
  });

  it('hands the train run id to the promote stage through an output variable', () => {
    const promote = pipeline.stages.find((s) => s.stage === 'Promote')!;
    expect((promote.variables as Record<string, string>).trainRunId).toBe("$[ stageDependencies.Train.train.outputs['train.trainRunId'] ]");
    const train = stepsOf(pipeline.stages.find((s) => s.stage === 'Train')!).find((s) => s.task === 'AzureCLI@2');
    expect(train?.name).toBe('train');
  });

  it('signs in with an Azure Resource Manager service connection and hands its federated identity to @azure/identity', () => {
    const cli = stepsOf({ jobs: pipeline.stages }).filter((s) => s.task === 'AzureCLI@2') as Array<{ inputs: Record<string, unknown> }>;
    expect(cli).toHaveLength(3);
    for (const step of cli) {
      expect(step.inputs).toMatchObject({ azureSubscription: '$(azureServiceConnection)', scriptType: 'bash', addSpnToEnvironment: true });
      expect(String(step.inputs.inlineScript)).toContain('AZURE_FEDERATED_TOKEN_FILE');
      expect(String(step.inputs.inlineScript)).not.toMatch(/AZURE_CLIENT_SECRET|servicePrincipalKey|echo "\$idToken"/);
    }
  });

  it('has dev and prod variables, and caches the tool setup', () => {
    expect(pipeline.parameters[0]).toMatchObject({ name: 'environment', values: ['dev', 'prod'] });
    expect(text).toMatch(/\$\{\{ if eq\(parameters.environment, 'prod'\) \}\}:\n\s+- name: MANYMODELS_TARGET\n\s+value: prod/);
    expect(text).toMatch(/\$\{\{ else \}\}:\n\s+- name: MANYMODELS_TARGET\n\s+value: dev/);
    const caches = stepsOf({ jobs: pipeline.stages }).filter((s) => s.task === 'Cache@2');
    expect(caches.length).toBeGreaterThanOrEqual(4);
    for (const c of caches) expect(Object.keys(c.inputs as object)).toEqual(expect.arrayContaining(['key', 'path']));
  });

  it('publishes JUnit after each run, also when the run failed, and the state the next stage downloads', () => {
    const steps = stepsOf({ jobs: pipeline.stages });
    const junit = steps.filter((s) => s.task === 'PublishTestResults@2');
    expect(junit).toHaveLength(3);
    for (const j of junit) {
      expect(j.condition).toBe('succeededOrFailed()');
      expect((j.inputs as Record<string, unknown>).testResultsFormat).toBe('JUnit');
    }
    const published = steps.filter((s) => s.task === 'PublishPipelineArtifact@1').map((s) => (s.inputs as Record<string, string>).artifact);
    const downloaded = steps.filter((s) => s.task === 'DownloadPipelineArtifact@2').map((s) => (s.inputs as Record<string, string>).artifactName);
    expect(downloaded).toEqual(['manymodels-train', 'manymodels-promote']);
    for (const name of downloaded) expect(published).toContain(name);
  });
});
