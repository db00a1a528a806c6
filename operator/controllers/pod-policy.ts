/**
 * What a tenant-supplied pod (a DriftPolicy's retraining template) must satisfy before the operator creates
 * it, so the operator never runs a pod its tenant could not create in a namespace labelled
 * `pod-security.kubernetes.io/enforce: restricted`:
 *
 * - the Pod Security Standard "restricted" (which includes "baseline"), checked on the pod as it will be
 *   created, after {@link withRestrictedDefaults} filled in what the template left out;
 * - the ServiceAccount is the namespace's default or one the platform team allows;
 * - every image comes from the allowed registries (image-policy.ts).
 *
 * Pure: it returns every violation with its field path and the rule, never a value from the spec other than
 * image and ServiceAccount names (configuration, which the platform team needs to read).
 */
import type { V1Container, V1PodSpec, V1SecurityContext } from '@kubernetes/client-node';
import { imageRefusal } from './image-policy.js';
import { NONROOT_UID } from './pod-templates.js';

/** The platform team's configuration of what tenants may run (ControllerConfig, flags, Helm `security.*`). */
export interface TenantPolicy {
  /** ServiceAccounts a template may name besides `default` (`--allowed-service-accounts`). */
  allowedServiceAccounts: readonly string[];
  /** Registry / repository prefixes images may come from (`--allowed-image-registries`). */
  allowedImageRegistries: readonly string[];
}

/** No ServiceAccount but `default`, no registry but the operator's own image's repository. */
export const STRICTEST_TENANT_POLICY: TenantPolicy = { allowedServiceAccounts: [], allowedImageRegistries: [] };

const SERVICE_ACCOUNT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Parses a comma- or whitespace-separated list of ServiceAccount names (flag or environment value). */
export function parseServiceAccountList(text: string | undefined): string[] {
  const names = (text ?? '')
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);
  for (const n of names)
    if (n.length > 253 || !SERVICE_ACCOUNT_NAME.test(n))
      throw new Error(`'${n}' is not a ServiceAccount name (lower-case letters, digits, '-' and '.')`);
  return names;
}

/** One refused field: where, and which rule. */
export interface PolicyViolation {
  path: string;
  rule: string;
}

/** Volume types the restricted profile allows (besides `name`). */
export const RESTRICTED_VOLUME_TYPES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
] as const;

const SECCOMP_TYPES = ['RuntimeDefault', 'Localhost'];
const APPARMOR_TYPES = ['RuntimeDefault', 'Localhost'];
const SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

function isDefaultServiceAccount(name: string | undefined): boolean {
  return name === undefined || name === '' || name === 'default';
}

function containerDefaults(c: V1Container): V1Container {
  const sc: V1SecurityContext = { ...c.securityContext };
  sc.allowPrivilegeEscalation ??= false;
  sc.capabilities = { ...sc.capabilities, drop: sc.capabilities?.drop ?? ['ALL'] };
  return { ...c, securityContext: sc };
}

/**
 * The pod with the operator's safe defaults where the template says nothing: non-root user 65532 with
 * `runAsNonRoot`, `seccompProfile: RuntimeDefault`, no privilege escalation, all capabilities dropped, and
 * no ServiceAccount token for the namespace's default ServiceAccount. A value the template sets is kept
 * (and judged by {@link podViolations}). Not defaulted: `readOnlyRootFilesystem` (not part of the profile,
 * and a training image may write to its filesystem) and `fsGroup` (it would re-own the template's volumes).
 */
export function withRestrictedDefaults(pod: V1PodSpec): V1PodSpec {
  const sc = { ...pod.securityContext };
  sc.runAsNonRoot ??= true;
  sc.seccompProfile ??= { type: 'RuntimeDefault' };
  const anyUser = [...(pod.containers ?? []), ...(pod.initContainers ?? [])].some(
    (c) => c.securityContext?.runAsUser !== undefined,
  );
  if (sc.runAsUser === undefined && !anyUser) {
    // With runAsNonRoot alone the kubelet refuses an image whose user is a name it cannot check.
    sc.runAsUser = NONROOT_UID;
    sc.runAsGroup ??= NONROOT_UID;
  }
  const out: V1PodSpec = {
    ...pod,
    securityContext: sc,
    containers: (pod.containers ?? []).map(containerDefaults),
    ...(pod.initContainers ? { initContainers: pod.initContainers.map(containerDefaults) } : {}),
  };
  if (isDefaultServiceAccount(pod.serviceAccountName ?? pod.serviceAccount)) out.automountServiceAccountToken ??= false;
  return out;
}

/** Rule texts, so messages and tests agree. */
export const Rule = {
  hostNamespace: 'must not be true (Pod Security restricted: host namespaces)',
  privileged: 'must not be true (Pod Security restricted: privileged containers)',
  escalation: 'must be false (Pod Security restricted: privilege escalation)',
  nonRoot: 'must be true, on the pod or every container (Pod Security restricted: running as non-root)',
  rootUser: 'must not be 0 (Pod Security restricted: running as non-root user)',
  dropAll: 'must include ALL (Pod Security restricted: capabilities)',
  addCapability: 'may only add NET_BIND_SERVICE (Pod Security restricted: capabilities)',
  seccomp: 'must be RuntimeDefault or Localhost, on the pod or every container (Pod Security restricted: seccomp)',
  volumeType: `volume type is not allowed (Pod Security restricted allows ${RESTRICTED_VOLUME_TYPES.join(', ')})`,
  hostPort: 'must not be set (Pod Security restricted: host ports)',
  sysctls: 'must be empty (no sysctls in pods the operator creates)',
  procMount: 'must be Default (Pod Security restricted: /proc mount type)',
  hostProcess: 'must not be true (Pod Security restricted: HostProcess)',
  seLinuxType: `must be one of ${SELINUX_TYPES.filter(Boolean).join(', ')} (Pod Security restricted: SELinux)`,
  seLinuxUserRole: 'must not be set (Pod Security restricted: SELinux)',
  appArmor: 'must be RuntimeDefault or Localhost (Pod Security restricted: AppArmor)',
  ephemeral: 'must not be set (ephemeral containers are not part of a template)',
} as const;

function securityContextViolations(
  sc: V1SecurityContext | V1PodSpec['securityContext'],
  at: string,
  out: PolicyViolation[],
): void {
  if (!sc) return;
  if (sc.runAsUser === 0) out.push({ path: `${at}.runAsUser`, rule: Rule.rootUser });
  if (sc.runAsNonRoot === false) out.push({ path: `${at}.runAsNonRoot`, rule: Rule.nonRoot });
  const seccomp = sc.seccompProfile?.type;
  if (seccomp !== undefined && !SECCOMP_TYPES.includes(seccomp))
    out.push({ path: `${at}.seccompProfile.type`, rule: Rule.seccomp });
  const apparmor = sc.appArmorProfile?.type;
  if (apparmor !== undefined && !APPARMOR_TYPES.includes(apparmor))
    out.push({ path: `${at}.appArmorProfile.type`, rule: Rule.appArmor });
  if (sc.windowsOptions?.hostProcess === true)
    out.push({ path: `${at}.windowsOptions.hostProcess`, rule: Rule.hostProcess });
  const se = sc.seLinuxOptions;
  if (se?.type !== undefined && !SELINUX_TYPES.includes(se.type))
    out.push({ path: `${at}.seLinuxOptions.type`, rule: Rule.seLinuxType });
  if (se?.user) out.push({ path: `${at}.seLinuxOptions.user`, rule: Rule.seLinuxUserRole });
  if (se?.role) out.push({ path: `${at}.seLinuxOptions.role`, rule: Rule.seLinuxUserRole });
}

function containerViolations(
  c: V1Container,
  at: string,
  pod: V1PodSpec,
  policy: TenantPolicy,
  ownImage: string,
  out: PolicyViolation[],
): void {
  const sc = c.securityContext ?? {};
  const scAt = `${at}.securityContext`;
  if (sc.privileged === true) out.push({ path: `${scAt}.privileged`, rule: Rule.privileged });
  if (sc.allowPrivilegeEscalation !== false)
    out.push({ path: `${scAt}.allowPrivilegeEscalation`, rule: Rule.escalation });
  securityContextViolations(sc, scAt, out);
  if (sc.runAsNonRoot !== false && (sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true)
    out.push({ path: `${scAt}.runAsNonRoot`, rule: Rule.nonRoot });
  if (sc.seccompProfile === undefined && pod.securityContext?.seccompProfile === undefined)
    out.push({ path: `${scAt}.seccompProfile.type`, rule: Rule.seccomp });
  if (!(sc.capabilities?.drop ?? []).includes('ALL'))
    out.push({ path: `${scAt}.capabilities.drop`, rule: Rule.dropAll });
  (sc.capabilities?.add ?? []).forEach((cap, k) => {
    if (cap !== 'NET_BIND_SERVICE') out.push({ path: `${scAt}.capabilities.add[${k}]`, rule: Rule.addCapability });
  });
  if (sc.procMount !== undefined && sc.procMount !== 'Default')
    out.push({ path: `${scAt}.procMount`, rule: Rule.procMount });
  (c.ports ?? []).forEach((p, k) => {
    if (p.hostPort !== undefined && p.hostPort !== 0)
      out.push({ path: `${at}.ports[${k}].hostPort`, rule: Rule.hostPort });
  });
  const refused = imageRefusal(c.image ?? '', { ...policy, ownImage });
  if (refused) out.push({ path: `${at}.image`, rule: refused });
}

function serviceAccountViolation(pod: V1PodSpec, at: string, policy: TenantPolicy): PolicyViolation | undefined {
  for (const field of ['serviceAccountName', 'serviceAccount'] as const) {
    const name = pod[field];
    if (isDefaultServiceAccount(name) || policy.allowedServiceAccounts.includes(name as string)) continue;
    const allowed = ['default', ...policy.allowedServiceAccounts].join(', ');
    return {
      path: `${at}.${field}`,
      rule: `ServiceAccount '${name}' is not allowed (allowed: ${allowed}; operator flag --allowed-service-accounts, Helm security.allowedServiceAccounts)`,
    };
  }
  return undefined;
}

/**
 * Every violation of the pod as it would be created (pass it through {@link withRestrictedDefaults} first),
 * with paths under `at` (e.g. `spec.retraining.template.spec.template.spec`). `annotations` are the pod's
 * (AppArmor's annotation form). Empty when the pod may run.
 */
export function podViolations(
  pod: V1PodSpec,
  at: string,
  policy: TenantPolicy,
  ownImage: string,
  annotations: Readonly<Record<string, string>> = {},
): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    if (pod[field] === true) out.push({ path: `${at}.${field}`, rule: Rule.hostNamespace });
  const sa = serviceAccountViolation(pod, at, policy);
  if (sa) out.push(sa);
  const psc = pod.securityContext;
  securityContextViolations(psc, `${at}.securityContext`, out);
  if ((psc?.sysctls ?? []).length > 0) out.push({ path: `${at}.securityContext.sysctls`, rule: Rule.sysctls });
  (pod.volumes ?? []).forEach((v, k) => {
    for (const key of Object.keys(v)) {
      if (key === 'name' || (RESTRICTED_VOLUME_TYPES as readonly string[]).includes(key)) continue;
      if ((v as unknown as Record<string, unknown>)[key] === undefined) continue;
      out.push({ path: `${at}.volumes[${k}].${key}`, rule: Rule.volumeType });
    }
  });
  (pod.initContainers ?? []).forEach((c, k) =>
    containerViolations(c, `${at}.initContainers[${k}]`, pod, policy, ownImage, out),
  );
  (pod.containers ?? []).forEach((c, k) =>
    containerViolations(c, `${at}.containers[${k}]`, pod, policy, ownImage, out),
  );
  if ((pod.ephemeralContainers ?? []).length > 0) out.push({ path: `${at}.ephemeralContainers`, rule: Rule.ephemeral });
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(APPARMOR_ANNOTATION)) continue;
    if (value !== 'runtime/default' && !value.startsWith('localhost/'))
      out.push({ path: `${at.replace(/\.spec$/, '')}.metadata.annotations[${key}]`, rule: Rule.appArmor });
  }
  return out;
}

/** A one-line summary of violations for a condition message: the first few, then how many more. */
export function describeViolations(violations: readonly PolicyViolation[], max = 4): string {
  const shown = violations.slice(0, max).map((v) => `${v.path} ${v.rule}`);
  const more = violations.length > max ? `; and ${violations.length - max} more` : '';
  return `${shown.join('; ')}${more}`;
}
