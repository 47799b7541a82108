import type { AssetFacts } from '../db/entities/index.ts';

type Raw = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Turns Ansible's setup facts into the asset's facts: OS, CPU, memory, disks, NICs. */
export function parseAnsibleFacts(f: Raw): AssetFacts {
  const processor = Array.isArray(f.ansible_processor) ? f.ansible_processor.filter((x): x is string => typeof x === 'string') : [];
  // ansible_processor is [index, vendor, model, index, vendor, model, …]; the model is what people read.
  const cpuModel = processor.find((p) => /\D/.test(p) && !/^(GenuineIntel|AuthenticAMD)$/.test(p)) ?? processor[0];
  const mounts = Array.isArray(f.ansible_mounts) ? (f.ansible_mounts as Raw[]) : [];
  const disks = mounts
    .filter((m) => typeof m.device === 'string' && !/^(tmpfs|overlay|devtmpfs|squashfs)$/.test(String(m.fstype)))
    .map((m) => ({ device: String(m.device), mount: String(m.mount ?? ''), sizeBytes: num(m.size_total) ?? 0 }))
    .slice(0, 64);
  const names = Array.isArray(f.ansible_interfaces) ? (f.ansible_interfaces as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  const interfaces = names
    .filter((n) => n !== 'lo')
    .map((n) => {
      const i = (f[`ansible_${n.replace(/[-.:]/g, '_')}`] ?? {}) as Raw;
      const ipv4 = (i.ipv4 ?? {}) as Raw;
      return { name: n, mac: str(i.macaddress) ?? '', ipv4: str(ipv4.address) ?? null };
    })
    .slice(0, 64);
  return {
    os: str(f.ansible_distribution),
    osVersion: str(f.ansible_distribution_version),
    kernel: str(f.ansible_kernel),
    arch: str(f.ansible_architecture),
    hostname: str(f.ansible_hostname),
    cpuModel,
    cpuCount: num(f.ansible_processor_vcpus) ?? num(f.ansible_processor_count),
    memoryMb: num(f.ansible_memtotal_mb),
    disks,
    interfaces,
  };
}
