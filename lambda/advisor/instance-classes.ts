/**
 * Memory of an RDS DB instance class, for pgtune-style advice. Derived from the class name
 * (family letter × vCPUs of the size) rather than a table of every class: t = burstable
 * (fixed sizes), m = 4 GiB/vCPU, r = 8 GiB/vCPU, x2g = 16 GiB/vCPU. Unknown classes return
 * undefined and the advice falls back to `info`; pass the memory explicitly for those.
 */
const BURSTABLE_GIB: Record<string, number> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, '2xlarge': 32 };

function vcpus(size: string): number | undefined {
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const m = /^(\d+)xlarge$/.exec(size);
  return m ? Number(m[1]) * 4 : undefined;
}

/** `db.r7g.large` or, as lib/config writes it, `r7g.large`. */
export function instanceClassMemoryGiB(instanceClass: string): number | undefined {
  const m = /^(?:db\.)?([a-z0-9-]+)\.([a-z0-9]+)$/.exec(instanceClass.trim().toLowerCase());
  if (!m) return undefined;
  const [, family, size] = m;
  if (/^t\d/.test(family)) return BURSTABLE_GIB[size];
  const cpus = vcpus(size);
  if (cpus === undefined) return undefined;
  if (/^x2/.test(family)) return cpus * 16;
  if (/^m\d/.test(family)) return cpus * 4;
  if (/^r\d/.test(family)) return cpus * 8;
  return undefined;
}
