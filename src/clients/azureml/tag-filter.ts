// The `tags` query filter of Azure ML version lists ("tag1,tag2=value2"): building it, and the
// same matching rule applied client-side to container tags, which have no server filter.
import type { StringMap } from './types.js';

/** name -> required value, or `true` for "the tag is present with any value". */
export type TagFilter = Record<string, string | true>;

/**
 * Serialises a filter. The wire format has no escaping, so names and values containing
 * `,` or `=` cannot be expressed and are refused rather than silently mis-filtered. That is a
 * caller bug (tag names and values come from validated pipeline names and keys), hence a
 * RangeError and not a user-facing code.
 */
export function formatTagFilter(filter: TagFilter): string {
  return Object.entries(filter)
    .map(([name, value]) => {
      for (const part of value === true ? [name] : [name, value]) {
        if (/[,=]/.test(part) || part === '') {
          throw new RangeError(`tag filter part "${part}" cannot contain "," or "=" or be empty`);
        }
      }
      return value === true ? name : `${name}=${value}`;
    })
    .join(',');
}

/** All conditions hold (the service ANDs the comma-separated terms). */
export function matchesTagFilter(tags: StringMap | null | undefined, filter: TagFilter): boolean {
  return Object.entries(filter).every(([name, value]) => {
    const actual = tags?.[name];
    if (actual === undefined) return false;
    return value === true || actual === value;
  });
}
