// Types of scripts/generate.mjs, for test/generated.test.ts.
export const root: string;
export const OUTPUTS: Record<string, string>;
export function pythonCommand(env?: Record<string, string | undefined>): string;
export function modelCatalogJson(python?: string): string;
export function schemaValidatorCode(schema: unknown): string;
export function generatedFiles(sources: { catalogJson: string; pipelinesSchema: unknown; jobSpecSchema: unknown }): Record<string, string>;
export function staleFiles(files: Record<string, string>): string[];
