// The utility VM's guest (the GCS and the processes it starts), as far as WCOW
// resource allocation reaches into it:
// - ModifySettings requests (docs/layers.md#layers-in-a-utility-vm, docs/mounts.md#adding-an-attachment, docs/mounts.md#removing-an-attachment):
//   MappedVirtualDisk Add mounts the disk at a SCSI LUN that must be attached
//   (LUN 0 is the system disk, never mapped) at ContainerPath, which then exists
//   as a guest directory; Remove must name a mapping that exists.
//   CombinedLayers Add needs a mounted scratch volume (ScratchPath, or
//   ContainerRootPath when omitted — hcsshim omits it) and layer paths that are
//   VSMB share roots of this UVM (`\\?\VMSMB\VSMB-{dcc079ae-…}\<name>`); one set
//   per root. Remove must name a root that has layers.
// - processes (docs/mounts.md#sandbox-mounts, docs/layers.md#devices-in-a-utility-vm, docs/layers.md#installing-a-driver-directory): `cmd /c mkdir P & dir P`,
//   `<share>\device-util.exe children --parentID=VMBUS\{44c4f61d-…}\{<guid>}
//   --property=location`, `cmd /c C:\Windows\System32\pnputil.exe /add-driver
//   <share>/*.inf /subdirs /install`; anything else exits 1 with a message.
// Guest paths are case-insensitive (NTFS in the guest).

import {
  DEVICE_UTIL_NAME,
  ERROR_NO_MORE_ITEMS,
  PNPUTIL_PATH,
  VMBUS_CHANNEL_TYPE,
  VMBUS_ENUMERATOR,
  VSMB_SHARE_PREFIX,
} from '../../hcs/constants';
import { ERROR_FILE_NOT_FOUND_HR, E_INVALIDARG } from '../../hcs/errors';
import type { GuestModificationRequest, WcowCombinedLayers, WcowMappedVirtualDisk } from '../../hcs/schema';
import type { ExecResult } from '../types';
import { base, clean, dir, join } from '../winpath';
import { cmdArguments, commandLineToArgv, splitCmdCommands } from './cmdline';
import type { Commit } from './devices';
import { ERROR_ALREADY_EXISTS_HR, ERROR_NOT_FOUND_HR } from '../../hcs/errors';
import { Rejection } from './failure';
import type { WindowsFs } from './fs';
import { GUID, derivedGuid } from './guid';
import { addUnique, fold, sameText, type HostState, type UvmState, type VsmbShareState } from './state';


/** The check-and-change step of a guest request. */
export function guestCommit(uvm: UvmState, request: GuestModificationRequest): Commit {
  const g = uvm.guest;
  if (request.ResourceType === 'MappedVirtualDisk') {
    const s = (request.Settings ?? {}) as WcowMappedVirtualDisk;
    const lun = s.Lun ?? 0;
    const key = String(lun);
    const path = s.ContainerPath ?? '';
    if (path === '') throw new Rejection(E_INVALIDARG, 'MappedVirtualDisk needs a ContainerPath');
    if (request.RequestType === 'Add') {
      return () => {
        if (lun === 0) throw new Rejection(E_INVALIDARG, 'LUN 0 is the system disk of the utility VM');
        if (uvm.scsi[key] === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `no SCSI disk is attached at LUN ${lun}`);
        if (g.mappedVirtualDisks[key] !== undefined) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `the disk at LUN ${lun} is already mounted at ${g.mappedVirtualDisks[key]}`);
        if (Object.values(g.mappedVirtualDisks).some((p) => sameText(clean(p), clean(path)))) {
          throw new Rejection(ERROR_ALREADY_EXISTS_HR, `${path} is already a mount point`);
        }
        g.mappedVirtualDisks[key] = path;
        return () => {
          delete g.mappedVirtualDisks[key];
        };
      };
    }
    if (request.RequestType === 'Remove') {
      return () => {
        const old = g.mappedVirtualDisks[key];
        if (old === undefined || !sameText(clean(old), clean(path))) {
          throw new Rejection(ERROR_NOT_FOUND_HR, `no disk at LUN ${lun} is mounted at ${path}`);
        }
        delete g.mappedVirtualDisks[key];
        return () => {
          g.mappedVirtualDisks[key] = old;
        };
      };
    }
  } else if (request.ResourceType === 'CombinedLayers') {
    const s = (request.Settings ?? {}) as WcowCombinedLayers;
    const root = s.ContainerRootPath ?? '';
    if (root === '') throw new Rejection(E_INVALIDARG, 'CombinedLayers needs a ContainerRootPath');
    const key = fold(clean(root));
    if (request.RequestType === 'Add') {
      const layers = s.Layers ?? [];
      return () => {
        const scratch = s.ScratchPath ?? root;
        if (!Object.values(g.mappedVirtualDisks).some((p) => sameText(clean(p), clean(scratch)))) {
          throw new Rejection(ERROR_NOT_FOUND_HR, `no scratch volume is mounted at ${scratch}`);
        }
        for (const layer of layers) {
          if (!GUID.test(layer.Id ?? '')) throw new Rejection(E_INVALIDARG, `layer id '${layer.Id ?? ''}' is not a GUID`);
          if (shareOfGuestPath(uvm, layer.Path ?? '')?.rest !== '') {
            throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `layer path '${layer.Path ?? ''}' is not a VSMB share of this utility VM`);
          }
        }
        if (g.combinedLayers[key] !== undefined) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `layers are already combined at ${root}`);
        g.combinedLayers[key] = {
          containerRootPath: root,
          layers: layers.map((l) => ({ ...l })),
          ...(s.ScratchPath === undefined ? {} : { scratchPath: s.ScratchPath }),
        };
        return () => {
          delete g.combinedLayers[key];
        };
      };
    }
    if (request.RequestType === 'Remove') {
      return () => {
        const old = g.combinedLayers[key];
        if (old === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `no layers are combined at ${root}`);
        delete g.combinedLayers[key];
        return () => {
          g.combinedLayers[key] = old;
        };
      };
    }
  }
  throw new Rejection(E_INVALIDARG, `unsupported guest request ${request.RequestType ?? ''} ${request.ResourceType ?? ''}`);
}

/** The share behind a guest VSMB path and the path below its root ('' for the root itself). */
function shareOfGuestPath(uvm: UvmState, guestPath: string): { share: VsmbShareState; rest: string } | undefined {
  if (!guestPath.toLowerCase().startsWith(VSMB_SHARE_PREFIX.toLowerCase())) return undefined;
  const tail = guestPath.slice(VSMB_SHARE_PREFIX.length);
  const cut = tail.search(/[\\/]/);
  const name = cut < 0 ? tail : tail.slice(0, cut);
  const share = Object.values(uvm.vsmbShares).find((s) => sameText(s.name, name));
  return share && { share, rest: cut < 0 ? '' : tail.slice(cut + 1) };
}

// ---- processes ----

/** What a guest process needs from the host: the file system behind VSMB shares. */
export interface ProcessHost {
  state: HostState;
  fs: WindowsFs;
}

/** A process ready to run: its read-only work is done; `run` changes the guest state synchronously. */
export type Process = () => ExecResult;

function result(exitCode: number, stdout = '', stderr = ''): ExecResult {
  return { exitCode, stdout, stderr };
}

function guestDirExists(uvm: UvmState, p: string): boolean {
  const target = fold(clean(p));
  if (/^[a-z]:\\$/.test(target)) return true;
  const within = (d: string) => {
    const k = fold(clean(d));
    return k === target || k.startsWith(target + '\\');
  };
  return uvm.guest.directories.some(within) || Object.values(uvm.guest.mappedVirtualDisks).some(within);
}

/** Parse and prepare a process's command line (reads host files); the returned step runs it. */
export async function prepareProcess(host: ProcessHost, uvm: UvmState, commandLine: string): Promise<Process> {
  const argv = commandLineToArgv(commandLine);
  const program = argv[0]?.value ?? '';
  if (/^(.*\\)?cmd(\.exe)?$/i.test(program) && /^\/c$/i.test(argv[1]?.value ?? '')) {
    return prepareCmd(host, uvm, commandLine.slice(argv[1]!.end));
  }
  if (sameText(base(program), DEVICE_UTIL_NAME)) {
    const exe = shareOfGuestPath(uvm, program);
    if (exe === undefined || !(await shareExposes(host, exe.share, exe.rest))) {
      throw new Rejection(ERROR_FILE_NOT_FOUND_HR, 'The system cannot find the file specified.');
    }
    return deviceUtil(host.state, uvm, argv.slice(1).map((a) => a.value));
  }
  return () => result(1, '', `'${program}' is not a program of the simulated utility VM\r\n`);
}

/** Whether a file below a share root is visible through the share and exists on the host. */
async function shareExposes(host: ProcessHost, share: VsmbShareState, rest: string): Promise<boolean> {
  const hostPath = join(share.path, rest);
  if (share.options.RestrictFileAccess && !share.allowedFiles.some((f) => sameText(clean(f), hostPath))) return false;
  return (await host.fs.existing(hostPath))?.stat.isFile === true;
}

const PARENT_ID = new RegExp(
  `^--parentID=${VMBUS_ENUMERATOR}\\\\${VMBUS_CHANNEL_TYPE.replace(/[{}]/g, '\\$&')}\\\\\\{([0-9a-fA-F-]{36})\\}$`,
  'i',
);

/**
 * device-util `children --parentID=<vmbus id> --property=location`: the location
 * paths of the VPCI device with that VMBus GUID, comma-separated, one trailing
 * newline (parsed by pnp.go:75-98). Locations come from
 * SimulatedHost.setDeviceLocationPaths, else one derived per function.
 */
function deviceUtil(state: HostState, uvm: UvmState, args: string[]): Process {
  const parent = args.length === 3 && args[0] === 'children' && args[2] === '--property=location' ? PARENT_ID.exec(args[1]!) : null;
  if (parent === null) return () => result(1, '', `usage: ${DEVICE_UTIL_NAME} children --parentID=<id> --property=location\r\n`);
  return () => {
    const functions = uvm.vpciDevices[fold(parent[1]!)];
    if (functions === undefined) return result(1, '', `no device with parent ID ${args[1]!.slice('--parentID='.length)}\r\n`);
    const locations = functions.flatMap((f) => {
      const path = f.DeviceInstancePath ?? '';
      const known = Object.entries(state.deviceLocations).find(([k]) => sameText(k, path));
      return known ? known[1] : [defaultLocationPath(path, f.VirtualFunction ?? 0)];
    });
    return result(0, locations.join(',') + '\n');
  };
}

/** A stable `PCIROOT(0)#PCI(xxyy)#PCI(0000)` location for a device instance path and function. */
export function defaultLocationPath(deviceInstancePath: string, fn: number): string {
  const h = derivedGuid('location', fold(deviceInstancePath), String(fn)).slice(0, 4).toUpperCase();
  return `PCIROOT(0)#PCI(${h})#PCI(${fn.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** cmd.exe /c: built-in mkdir and dir, and pnputil. */
async function prepareCmd(host: ProcessHost, uvm: UvmState, rest: string): Promise<Process> {
  const steps: { chain: string; run: Process }[] = [];
  for (const { chain, text } of splitCmdCommands(rest)) {
    // Built-ins split their arguments the cmd.exe way; a program gets CommandLineToArgvW's.
    const words = cmdArguments(text);
    const verb = (words[0] ?? '').toLowerCase();
    let run: Process;
    if ((verb === 'mkdir' || verb === 'md') && words.length >= 2) run = each(words.slice(1), (p) => mkdir(uvm, p));
    else if (verb === 'dir' && words.length >= 2) run = each(words.slice(1), (p) => dirCommand(uvm, p));
    else if (sameText(words[0] ?? '', PNPUTIL_PATH)) run = await pnputil(host, uvm, commandLineToArgv(text).slice(1).map((a) => a.value));
    else {
      const name = words[0] ?? '';
      run = () => result(1, '', `'${name}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`);
    }
    steps.push({ chain, run });
  }
  return () => {
    let last = result(0);
    let stdout = '';
    let stderr = '';
    for (const step of steps) {
      if ((step.chain === '&&' && last.exitCode !== 0) || (step.chain === '||' && last.exitCode === 0)) continue;
      last = step.run();
      stdout += last.stdout;
      stderr += last.stderr;
    }
    return result(last.exitCode, stdout, stderr);
  };
}

/** A built-in given several arguments handles each; it fails when any of them failed. */
function each(args: readonly string[], one: (arg: string) => Process): Process {
  return () => {
    let exitCode = 0;
    let stdout = '';
    let stderr = '';
    for (const a of args) {
      const r = one(a)();
      if (r.exitCode !== 0) exitCode = r.exitCode;
      stdout += r.stdout;
      stderr += r.stderr;
    }
    return result(exitCode, stdout, stderr);
  };
}

/** mkdir creates the directory and its parents; an existing one is an error (docs/mounts.md#sandbox-mounts step 4). */
function mkdir(uvm: UvmState, p: string): Process {
  return () => {
    const target = clean(p);
    if (!/^[A-Za-z]:\\/.test(target)) return result(1, '', 'The filename, directory name, or volume label syntax is incorrect.\r\n');
    if (guestDirExists(uvm, target)) return result(1, '', `A subdirectory or file ${p} already exists.\r\n`);
    for (let d = target; d !== dir(d); d = dir(d)) addUnique(uvm.guest.directories, d);
    return result(0);
  };
}

function dirCommand(uvm: UvmState, p: string): Process {
  return () =>
    guestDirExists(uvm, p) ? result(0, ` Directory of ${clean(p)}\r\n\r\n`) : result(1, '', 'File Not Found\r\n');
}

/**
 * pnputil /add-driver <share>/*.inf /subdirs /install: 0 the first time a
 * directory's drivers are installed in this guest, then 259 (ERROR_NO_MORE_ITEMS,
 * "not ranked higher than the installed driver", tolerated by hcsshim —
 * docs/layers.md#installing-a-driver-directory, installed twice per container docs/layers.md#drivers-are-installed-twice). A path that is no VSMB share of this
 * UVM exits 2 (ERROR_FILE_NOT_FOUND).
 */
async function pnputil(host: ProcessHost, uvm: UvmState, args: string[]): Promise<Process> {
  if (args.length !== 4 || !sameText(args[0]!, '/add-driver') || !sameText(args[2]!, '/subdirs') || !sameText(args[3]!, '/install')) {
    return () => result(1, '', `pnputil: unsupported arguments ${args.join(' ')}\r\n`);
  }
  const spec = args[1]!;
  const pattern = /[\\/]\*\.inf$/i.exec(spec);
  const share = pattern ? shareOfGuestPath(uvm, spec.slice(0, pattern.index)) : undefined;
  const folder = share && join(share.share.path, share.rest);
  const exists = folder !== undefined && (await host.fs.existing(folder))?.stat.isDirectory === true;
  return () => {
    if (!exists || folder === undefined) {
      return result(2, `Microsoft PnP Utility\r\n\r\nFailed to add driver package: The system cannot find the file specified.\r\n`);
    }
    if (uvm.guest.drivers.some((d) => sameText(d, folder))) {
      return result(ERROR_NO_MORE_ITEMS, 'Microsoft PnP Utility\r\n\r\nDriver package is up-to-date on the device.\r\n');
    }
    addUnique(uvm.guest.drivers, folder);
    return result(0, 'Microsoft PnP Utility\r\n\r\nDriver package added successfully.\r\n');
  };
}
