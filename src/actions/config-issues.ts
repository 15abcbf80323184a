import type { z } from 'zod';
import type { ConfigIssue } from '../domain/step-type-catalog.js';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

const joinPath = (path: readonly PathKey[]): string => path.map((k) => String(k)).join('.');

const flatten = (issue: Issue, prefix: readonly PathKey[]): { path: PathKey[]; message: string }[] => {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Report the branch the input most likely meant: the one whose problems sit deepest
    // (it got furthest), then the one with the fewest problems.
    let best: { path: PathKey[]; message: string }[] | undefined;
    let bestDepth = -1;
    for (const branch of issue.errors) {
      const flat = branch.flatMap((inner) => flatten(inner, path));
      const depth = Math.max(...flat.map((f) => f.path.length));
      if (best === undefined || depth > bestDepth || (depth === bestDepth && flat.length < best.length)) {
        best = flat;
        bestDepth = depth;
      }
    }
    if (best !== undefined && best.length > 0) return best;
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...path, key], message: 'Unknown field' }));
  }
  return [{ path, message: issue.message }];
};

/**
 * Maps zod issues to {@link ConfigIssue}s with dotted paths (`cases.0.port`; `''` for the config
 * itself). Failed unions are reduced to the problems of their most plausible branch, and unknown
 * keys get one issue each at their own path.
 */
export const toConfigIssues = (issues: readonly Issue[]): ConfigIssue[] => {
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    for (const { path, message } of flatten(issue, [])) {
      const entry = { path: joinPath(path), message };
      const key = `${entry.path}\u0000${entry.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(entry);
      }
    }
  }
  return out;
};
