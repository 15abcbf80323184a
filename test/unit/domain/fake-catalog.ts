import type { Graph, Step } from '../../../src/domain/graph.js';
import { isJsonObject, type JsonObject } from '../../../src/domain/json.js';
import type {
  ConfigCheck,
  ConfigIssue,
  PortSpec,
  StepCategory,
  StepTypeCatalog,
  StepTypeInfo,
} from '../../../src/domain/step-type-catalog.js';

interface FakeType {
  readonly category: StepCategory;
  readonly displayName: string;
  readonly check: (config: JsonObject) => ConfigIssue[] | JsonObject;
  readonly ports: (config: JsonObject) => PortSpec[];
}

const anyConfig = (config: JsonObject): JsonObject => config;

const types: Record<string, FakeType> = {
  'trigger.manual': {
    category: 'trigger',
    displayName: 'Manual trigger',
    check: anyConfig,
    ports: () => [{ name: 'next', required: true }],
  },
  'sms.send': {
    category: 'action',
    displayName: 'Send SMS',
    check: (config) => {
      const issues: ConfigIssue[] = [];
      for (const key of ['to', 'text']) {
        if (typeof config[key] !== 'string') issues.push({ path: key, message: 'must be a string' });
      }
      return issues.length > 0 ? issues : config;
    },
    ports: () => [{ name: 'next', required: false }],
  },
  /** Has a default, to show that the parsed config is what gets stored. */
  delay: {
    category: 'action',
    displayName: 'Delay',
    check: (config) => {
      const seconds = config['seconds'] ?? 60;
      if (typeof seconds !== 'number') return [{ path: 'seconds', message: 'must be a number' }];
      return { ...config, seconds };
    },
    ports: () => [{ name: 'next', required: true }],
  },
  condition: {
    category: 'logic',
    displayName: 'Condition',
    check: anyConfig,
    ports: () => [
      { name: 'true', required: true },
      { name: 'false', required: true },
    ],
  },
  switch: {
    category: 'logic',
    displayName: 'Switch',
    check: (config) => {
      const cases = config['cases'];
      if (!Array.isArray(cases)) return [{ path: 'cases', message: 'must be a list' }];
      const issues: ConfigIssue[] = [];
      cases.forEach((c, i) => {
        if (!isJsonObject(c) || typeof c['port'] !== 'string' || c['port'] === '') {
          issues.push({ path: `cases.${i}.port`, message: 'must be a non-empty string' });
        }
      });
      return issues.length > 0 ? issues : config;
    },
    ports: (config) => {
      const cases = Array.isArray(config['cases']) ? config['cases'] : [];
      const casePorts = cases.map((c) => ({ name: String(isJsonObject(c) ? c['port'] : ''), required: true }));
      return [...casePorts, { name: 'default', required: false }];
    },
  },
  end: {
    category: 'logic',
    displayName: 'End',
    check: anyConfig,
    ports: () => [],
  },
};

/** A small in-memory step-type catalog for domain tests. */
export const fakeCatalog: StepTypeCatalog = {
  get(type: string): StepTypeInfo | undefined {
    const fake = types[type];
    if (!fake) return undefined;
    return {
      type,
      category: fake.category,
      displayName: fake.displayName,
      checkConfig(config: unknown): ConfigCheck {
        if (!isJsonObject(config)) return { ok: false, issues: [{ path: '', message: 'must be an object' }] };
        const result = fake.check(config);
        return Array.isArray(result) ? { ok: false, issues: result } : { ok: true, config: result };
      },
      outputPorts: fake.ports,
    };
  },
};

/** A step with defaults for what a test does not care about. */
export const step = (id: string, type: string, overrides: Partial<Omit<Step, 'id' | 'type'>> = {}): Step => ({
  id,
  type,
  name: overrides.name ?? id,
  config: overrides.config ?? defaultConfig(type),
  position: overrides.position ?? { x: 0, y: 0 },
});

const defaultConfig = (type: string): JsonObject => {
  switch (type) {
    case 'sms.send':
      return { to: '+15550100', text: 'hi' };
    case 'delay':
      return { seconds: 60 };
    case 'switch':
      return { cases: [{ port: 'a' }, { port: 'b' }] };
    default:
      return {};
  }
};

/** Shorthand for an edge list: `['t', 'next', 's1']`. */
export const edges = (...list: [string, string, string][]): Graph['edges'] =>
  list.map(([from, port, to]) => ({ from, port, to }));
