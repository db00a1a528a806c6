import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  describeViolations,
  parseServiceAccountList,
  podViolations,
  Rule,
  STRICTEST_TENANT_POLICY,
  withRestrictedDefaults,
  type TenantPolicy,
} from './pod-policy.js';

const AT = 'spec.template.spec';
const OWN = 'nerops:dev';

/** Violations of a pod after the operator's defaults, as the DriftPolicy controller judges a template. */
function judge(pod: V1PodSpec, policy: TenantPolicy = STRICTEST_TENANT_POLICY, annotations?: Record<string, string>) {
  return podViolations(withRestrictedDefaults(pod), AT, policy, OWN, annotations);
}

const container = (extra: Record<string, unknown> = {}) => ({ name: 'c', image: 'nerops:dev', ...extra });
const pod = (extra: Partial<V1PodSpec> = {}, c: Record<string, unknown> = {}): V1PodSpec => ({
  containers: [container(c)],
  ...extra,
});
const sc = (securityContext: Record<string, unknown>) => ({ securityContext });

describe('withRestrictedDefaults', () => {
  it('a template that says nothing gets the restricted defaults and passes', () => {
    const out = withRestrictedDefaults(pod());
    expect(out.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(out.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(out.automountServiceAccountToken).toBe(false);
    expect(judge(pod())).toEqual([]);
  });

  it('keeps what the template sets (judged, not overwritten)', () => {
    const out = withRestrictedDefaults(
      pod(
        { securityContext: { runAsUser: 1000, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } },
        sc({ allowPrivilegeEscalation: true, capabilities: { add: ['NET_BIND_SERVICE'] } }),
      ),
    );
    expect(out.securityContext).toEqual({
      runAsUser: 1000,
      runAsNonRoot: true,
      seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
    });
    expect(out.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: true,
      capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
    });
  });

  it('leaves the token of an allowed ServiceAccount as the template says', () => {
    expect(withRestrictedDefaults(pod({ serviceAccountName: 'trainer' })).automountServiceAccountToken).toBeUndefined();
    expect(withRestrictedDefaults(pod({ automountServiceAccountToken: true })).automountServiceAccountToken).toBe(true);
  });

  it('does not set a pod user when a container sets its own', () => {
    expect(withRestrictedDefaults(pod({}, sc({ runAsUser: 1000 }))).securityContext?.runAsUser).toBeUndefined();
  });
});

describe('podViolations: Pod Security restricted', () => {
  const refused = (p: V1PodSpec, annotations?: Record<string, string>) =>
    judge(p, STRICTEST_TENANT_POLICY, annotations);

  it.each([
    ['hostNetwork', pod({ hostNetwork: true }), `${AT}.hostNetwork`, Rule.hostNamespace],
    ['hostPID', pod({ hostPID: true }), `${AT}.hostPID`, Rule.hostNamespace],
    ['hostIPC', pod({ hostIPC: true }), `${AT}.hostIPC`, Rule.hostNamespace],
    [
      'privileged',
      pod({}, sc({ privileged: true })),
      `${AT}.containers[0].securityContext.privileged`,
      Rule.privileged,
    ],
    [
      'allowPrivilegeEscalation',
      pod({}, sc({ allowPrivilegeEscalation: true })),
      `${AT}.containers[0].securityContext.allowPrivilegeEscalation`,
      Rule.escalation,
    ],
    [
      'runAsNonRoot false on the pod',
      pod({ securityContext: { runAsNonRoot: false } }),
      `${AT}.securityContext.runAsNonRoot`,
      Rule.nonRoot,
    ],
    [
      'runAsNonRoot false on a container',
      pod({}, sc({ runAsNonRoot: false })),
      `${AT}.containers[0].securityContext.runAsNonRoot`,
      Rule.nonRoot,
    ],
    ['runAsUser 0', pod({ securityContext: { runAsUser: 0 } }), `${AT}.securityContext.runAsUser`, Rule.rootUser],
    [
      'capabilities not dropping ALL',
      pod({}, sc({ capabilities: { drop: ['NET_RAW'] } })),
      `${AT}.containers[0].securityContext.capabilities.drop`,
      Rule.dropAll,
    ],
    [
      'an added capability',
      pod({}, sc({ capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE', 'SYS_ADMIN'] } })),
      `${AT}.containers[0].securityContext.capabilities.add[1]`,
      Rule.addCapability,
    ],
    [
      'seccomp Unconfined',
      pod({ securityContext: { seccompProfile: { type: 'Unconfined' } } }),
      `${AT}.securityContext.seccompProfile.type`,
      Rule.seccomp,
    ],
    [
      'seccomp Unconfined on a container',
      pod({}, sc({ seccompProfile: { type: 'Unconfined' } })),
      `${AT}.containers[0].securityContext.seccompProfile.type`,
      Rule.seccomp,
    ],
    [
      'hostPath volume',
      pod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
      `${AT}.volumes[0].hostPath`,
      Rule.volumeType,
    ],
    [
      'nfs volume',
      pod({ volumes: [{ name: 'n', nfs: { server: 's', path: '/' } }] }),
      `${AT}.volumes[0].nfs`,
      Rule.volumeType,
    ],
    [
      'hostPort',
      pod({}, { ports: [{ containerPort: 80, hostPort: 80 }] }),
      `${AT}.containers[0].ports[0].hostPort`,
      Rule.hostPort,
    ],
    [
      'sysctls',
      pod({ securityContext: { sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }] } }),
      `${AT}.securityContext.sysctls`,
      Rule.sysctls,
    ],
    [
      'procMount Unmasked',
      pod({}, sc({ procMount: 'Unmasked' })),
      `${AT}.containers[0].securityContext.procMount`,
      Rule.procMount,
    ],
    [
      'hostProcess',
      pod({ securityContext: { windowsOptions: { hostProcess: true } } }),
      `${AT}.securityContext.windowsOptions.hostProcess`,
      Rule.hostProcess,
    ],
    [
      'SELinux type',
      pod({ securityContext: { seLinuxOptions: { type: 'spc_t' } } }),
      `${AT}.securityContext.seLinuxOptions.type`,
      Rule.seLinuxType,
    ],
    [
      'SELinux user',
      pod({}, sc({ seLinuxOptions: { user: 'system_u' } })),
      `${AT}.containers[0].securityContext.seLinuxOptions.user`,
      Rule.seLinuxUserRole,
    ],
    [
      'AppArmor unconfined',
      pod({}, sc({ appArmorProfile: { type: 'Unconfined' } })),
      `${AT}.containers[0].securityContext.appArmorProfile.type`,
      Rule.appArmor,
    ],
    [
      'an init container',
      pod({ initContainers: [container(sc({ privileged: true }))] }),
      `${AT}.initContainers[0].securityContext.privileged`,
      Rule.privileged,
    ],
    [
      'ephemeral containers',
      pod({ ephemeralContainers: [{ name: 'e', image: OWN }] }),
      `${AT}.ephemeralContainers`,
      Rule.ephemeral,
    ],
  ])('refuses %s, naming the field path and the rule', (_name, p, path, rule) => {
    expect(refused(p)).toContainEqual({ path, rule });
  });

  it('refuses the AppArmor annotation form', () => {
    expect(refused(pod(), { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' })).toEqual([
      {
        path: 'spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]',
        rule: Rule.appArmor,
      },
    ]);
    expect(refused(pod(), { 'container.apparmor.security.beta.kubernetes.io/c': 'runtime/default' })).toEqual([]);
  });

  it('accepts what the profile allows', () => {
    const ok = pod(
      {
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 1000,
          fsGroup: 1000,
          seccompProfile: { type: 'Localhost', localhostProfile: 'x' },
        },
        volumes: [
          { name: 'a', emptyDir: {} },
          { name: 'b', persistentVolumeClaim: { claimName: 'data' } },
          { name: 'c', secret: { secretName: 's' } },
          { name: 'd', configMap: { name: 'm' } },
          { name: 'e', projected: { sources: [] } },
          { name: 'f', downwardAPI: {} },
          { name: 'g', csi: { driver: 'd' } },
          { name: 'h', ephemeral: {} },
        ],
      },
      {
        ports: [{ containerPort: 80 }, { containerPort: 81, hostPort: 0 }],
        ...sc({
          capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
          readOnlyRootFilesystem: false,
          procMount: 'Default',
        }),
      },
    );
    expect(judge(ok)).toEqual([]);
  });

  it('without the defaults, a pod that omits the restricted fields is refused (the defaults are what make it pass)', () => {
    const bare = podViolations(pod(), AT, STRICTEST_TENANT_POLICY, OWN).map((v) => v.rule);
    expect(bare).toEqual(expect.arrayContaining([Rule.escalation, Rule.nonRoot, Rule.seccomp, Rule.dropAll]));
  });

  it('returns every violation, and the summary names the first few and counts the rest', () => {
    const all = refused(pod({ hostNetwork: true, hostPID: true, hostIPC: true }, sc({ privileged: true })));
    expect(all).toHaveLength(4);
    expect(describeViolations(all, 2)).toBe(
      `${AT}.hostNetwork ${Rule.hostNamespace}; ${AT}.hostPID ${Rule.hostNamespace}; and 2 more`,
    );
  });
});

describe('podViolations: ServiceAccount and images', () => {
  it('allows the default ServiceAccount and the allowed ones; refuses others, naming the configuration', () => {
    const policy = { allowedServiceAccounts: ['trainer'], allowedImageRegistries: [] };
    expect(judge(pod({ serviceAccountName: 'default' }), policy)).toEqual([]);
    expect(judge(pod({ serviceAccountName: 'trainer' }), policy)).toEqual([]);
    expect(judge(pod({ serviceAccountName: 'nerops-operator' }), policy)).toEqual([
      {
        path: `${AT}.serviceAccountName`,
        rule: "ServiceAccount 'nerops-operator' is not allowed (allowed: default, trainer; operator flag --allowed-service-accounts, Helm security.allowedServiceAccounts)",
      },
    ]);
    expect(judge(pod({ serviceAccount: 'admin' }), policy).map((v) => v.path)).toEqual([`${AT}.serviceAccount`]);
  });

  it('checks the image of every container and init container against the allowed registries', () => {
    const policy = { allowedServiceAccounts: [], allowedImageRegistries: ['ghcr.io/acme'] };
    const p = pod({ initContainers: [{ name: 'i', image: 'busybox' }] }, { image: 'ghcr.io/acme/train:1' });
    expect(judge(p, policy).map((v) => v.path)).toEqual([`${AT}.initContainers[0].image`]);
    expect(judge(pod({}, { image: 'ghcr.io/acme/train:1' }), STRICTEST_TENANT_POLICY).map((v) => v.path)).toEqual([
      `${AT}.containers[0].image`,
    ]);
  });

  it('parses the ServiceAccount list once, refusing a malformed name', () => {
    expect(parseServiceAccountList('trainer, ml.batch')).toEqual(['trainer', 'ml.batch']);
    expect(() => parseServiceAccountList('Trainer')).toThrow(/not a ServiceAccount name/);
  });
});
