/**
 * The GPU driver: restored only when the machine being installed has a GPU
 * of the driver's vendor (a laptop with an NVIDIA card restored onto one with
 * an AMD card must not get nvidia-driver). The live machine's GPUs are read
 * from sysfs (`detectGpuVendors`), or given by the caller in ctx.host.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StepApplier } from './applier.ts';
import { aptInstall, aptOutcome } from './apt.ts';

export interface GpuDriverInfo {
  /** PCI vendor id, lowercase hex without 0x. */
  vendor: string;
  vendorName: string;
  /** Package to install; empty when the kernel has it already. */
  packages: string[];
}

/** Known drivers → vendor and what to install on Debian. */
export const GPU_DRIVERS: Record<string, GpuDriverInfo> = {
  nvidia: { vendor: '10de', vendorName: 'NVIDIA', packages: ['nvidia-driver'] },
  nouveau: { vendor: '10de', vendorName: 'NVIDIA', packages: [] },
  amdgpu: { vendor: '1002', vendorName: 'AMD', packages: ['firmware-amd-graphics'] },
  radeon: { vendor: '1002', vendorName: 'AMD', packages: ['firmware-amd-graphics'] },
  i915: { vendor: '8086', vendorName: 'Intel', packages: [] },
  xe: { vendor: '8086', vendorName: 'Intel', packages: [] },
};

/**
 * PCI vendor ids (lowercase hex, no 0x) of the display controllers (PCI
 * class 0x03xxxx) of the live machine.
 */
export async function detectGpuVendors(sysDir = '/sys/bus/pci/devices'): Promise<string[]> {
  let devices: string[];
  try {
    devices = await readdir(sysDir);
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const d of devices) {
    try {
      const cls = (await readFile(join(sysDir, d, 'class'), 'utf8')).trim().toLowerCase();
      if (!/^0x03[0-9a-f]{4}$/.test(cls)) continue;
      const vendor = (await readFile(join(sysDir, d, 'vendor'), 'utf8')).trim().toLowerCase().replace(/^0x/, '');
      if (/^[0-9a-f]{4}$/.test(vendor)) out.add(vendor);
    } catch {
      // A device that vanished or has no class file: not a GPU we can use.
    }
  }
  return [...out].sort();
}

export const applyGpu: StepApplier = async (_step, ctx, progress) => {
  const driver = ctx.manifest.system?.gpu_driver;
  if (!driver) return { status: 'done', message: 'no GPU driver in the snapshot' };
  const info = GPU_DRIVERS[driver];
  if (!info) return { status: 'skipped', message: `GPU driver ${JSON.stringify(driver)} is not one the restore knows how to install` };
  const vendors = (ctx.host?.gpuVendors ?? (await detectGpuVendors())).map((v) => v.toLowerCase().replace(/^0x/, ''));
  if (!vendors.includes(info.vendor)) {
    const found = vendors.length ? vendors.map((v) => Object.values(GPU_DRIVERS).find((d) => d.vendor === v)?.vendorName ?? `vendor ${v}`).join(', ') : 'no GPU detected';
    return {
      status: 'skipped',
      message: `${driver} is for ${info.vendorName} GPUs; this machine has ${[...new Set(found.split(', '))].join(', ')}`,
    };
  }
  if (info.packages.length === 0) {
    progress({ bytes: 0, items: 1 });
    return { status: 'done', message: `${driver}: the kernel's driver needs no package` };
  }
  return aptOutcome(await aptInstall(ctx, info.packages, progress), 'driver packages');
};
