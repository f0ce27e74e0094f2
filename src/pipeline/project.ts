// Loading a project is an ordered list of small named steps, each adding diagnostics:
// load-file → select-target → interpolate-variables → validate-schema → check-semantics →
// resolve-target → check-target → apply-defaults. Problems are collected, not fail-fast;
// a step that needs a clean input stops the list only when an earlier step could not
// produce one.
import type { Diagnostic } from '../core/diagnostics.js';
import { expectedOneOf, hasErrors, sortDiagnostics } from '../core/diagnostics.js';
import { UsageError } from '../core/errors.js';
import { loadPipelineFile, type LoadedFile } from './load.js';
import { interpolateFile } from './interpolate.js';
import { locatePath, type PathSegment } from './locate.js';
import { checkAgainstTarget, resolvePipeline, resolveTarget, selectTargetName } from './resolve.js';
import { checkSemantics } from './semantics.js';
import type { ResolvedTarget } from '../contracts/targets.js';
import type { Pipeline, RawPipelineFile } from './types.js';
import { validateAgainstSchema } from './validate-schema.js';

export interface LoadProjectOptions {
  file: string;
  cwd: string;
  target?: string;
  vars?: Record<string, string>;
  env?: Record<string, string | undefined>;
}

export interface Project {
  file: LoadedFile;
  name: string;
  raw: RawPipelineFile;
  target: ResolvedTarget;
  pipelines: Pipeline[];
}

interface StepState {
  options: LoadProjectOptions;
  diagnostics: Diagnostic[];
  file?: LoadedFile;
  targetName?: string;
  data?: Record<string, unknown>;
  target?: ResolvedTarget;
  pipelines?: Pipeline[];
  at: (path: readonly PathSegment[], o?: { key?: boolean }) => { file: string; line: number; column: number };
}

interface Step {
  name: string;
  /** Returns false to stop: later steps need what this one could not produce. */
  run(state: StepState): boolean;
}

export const LOAD_STEPS: readonly Step[] = [
  {
    name: 'load-file',
    run(s) {
      const result = loadPipelineFile(s.options.file, s.options.cwd);
      s.diagnostics.push(...result.diagnostics);
      if (!result.ok) return false;
      const file = result.file;
      s.file = file;
      s.at = (p, o) => ({ file: file.displayPath, ...locatePath(file.doc, file.lineCounter, p, o) });
      return true;
    },
  },
  {
    name: 'select-target',
    run(s) {
      const { name, diagnostics } = selectTargetName(s.file!.raw as RawPipelineFile, s.options.target, s.at);
      s.diagnostics.push(...diagnostics);
      if (name !== undefined) s.targetName = name;
      return true;
    },
  },
  {
    name: 'interpolate-variables',
    run(s) {
      const { value, diagnostics } = interpolateFile({
        raw: s.file!.raw as Record<string, unknown>,
        selectedTarget: s.targetName,
        cliVars: s.options.vars ?? {},
        env: s.options.env ?? process.env,
        at: s.at,
      });
      s.diagnostics.push(...diagnostics);
      s.data = value;
      return true;
    },
  },
  {
    name: 'validate-schema',
    run(s) {
      s.diagnostics.push(...validateAgainstSchema(s.data, s.at));
      return true;
    },
  },
  {
    name: 'check-semantics',
    run(s) {
      s.diagnostics.push(...checkSemantics(s.data as unknown as RawPipelineFile, { projectRoot: s.file!.projectRoot, at: s.at }));
      // Resolving needs a file that is structurally sound and a known target.
      return !hasErrors(s.diagnostics) && s.targetName !== undefined;
    },
  },
  {
    name: 'resolve-target',
    run(s) {
      const { target, diagnostics } = resolveTarget(s.data as unknown as RawPipelineFile, s.targetName!, s.file!.projectRoot, s.at);
      s.target = target;
      s.diagnostics.push(...diagnostics);
      return true;
    },
  },
  {
    name: 'check-target',
    run(s) {
      s.diagnostics.push(...checkAgainstTarget(s.data as unknown as RawPipelineFile, s.target!, s.at));
      return !hasErrors(s.diagnostics);
    },
  },
  {
    name: 'apply-defaults',
    run(s) {
      const raw = s.data as unknown as RawPipelineFile;
      const project = raw.project ?? 'default';
      s.pipelines = raw.pipelines.map((p) => resolvePipeline(p, project, s.target));
      return true;
    },
  },
];

export type LoadProjectResult = { project?: Project; diagnostics: Diagnostic[] };

/** Runs every load step and returns the project when there were no errors. */
export function loadProject(options: LoadProjectOptions): LoadProjectResult {
  const state: StepState = { options, diagnostics: [], at: () => ({ file: options.file, line: 0, column: 0 }) };
  for (const step of LOAD_STEPS) {
    if (!step.run(state)) break;
  }
  const diagnostics = sortDiagnostics(state.diagnostics);
  if (hasErrors(diagnostics) || !state.pipelines || !state.target || !state.file) return { diagnostics };
  const raw = state.data as unknown as RawPipelineFile;
  return {
    diagnostics,
    project: { file: state.file, name: raw.project ?? 'default', raw, target: state.target, pipelines: state.pipelines },
  };
}

/** The pipelines a command acts on: the one named, or every one in the file. */
export function selectPipelines(project: Project, name: string | undefined): Pipeline[] {
  if (name === undefined) return project.pipelines;
  const hit = project.pipelines.find((p) => p.name === name);
  if (hit) return [hit];
  throw new UsageError(`unknown pipeline "${name}"`, {
    code: 'MM315',
    nextSteps: [expectedOneOf(name, project.pipelines.map((p) => p.name))],
  });
}
