import type { JsonObject } from './json.js';
import type { Schedule } from './schedule.js';

/** What a step type is for; triggers start a run and take no incoming edge. */
export type StepCategory = 'trigger' | 'action' | 'logic';

/** An output port of a step; a required port must have an edge before publishing. */
export interface PortSpec {
  readonly name: string;
  readonly required: boolean;
}

/** One problem found in a config, with the dotted path of the field (`cases.0.port`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export type ConfigCheck =
  | { readonly ok: true; readonly config: JsonObject }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** What the domain needs to know about a step type. Implemented by the action registry. */
export interface StepTypeInfo {
  readonly type: string;
  readonly category: StepCategory;
  readonly displayName: string;
  /** Parses a config; on success returns it with defaults applied. */
  checkConfig(config: unknown): ConfigCheck;
  /** The output ports a step of this type has with this (valid) config. */
  outputPorts(config: JsonObject): readonly PortSpec[];
  /**
   * Triggers started on a schedule only: the ticks of a config; undefined when it does not parse.
   * Publishing such a trigger schedules its workflow (see `WorkflowEditingService.publish`).
   */
  schedule?(config: JsonObject): Schedule | undefined;
}

/** Looks step types up by name. */
export interface StepTypeCatalog {
  get(type: string): StepTypeInfo | undefined;
}
