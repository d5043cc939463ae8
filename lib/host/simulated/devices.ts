// HCS's side of HcsModifyComputeSystem on a WCOW utility VM: the device
// collections a ModifySettingRequest addresses by ResourcePath, and the rules
// the real service enforces on them (docs/behaviour.md#rules-the-model-enforces):
// - SCSI (docs/mounts.md#controller-and-luns, docs/mounts.md#adding-an-attachment): one controller `df6d0690-…`, 64 LUNs, LUN 0 the
//   UVM's own scratch; Add to an occupied LUN, Remove of an empty LUN, an unknown
//   controller fail. A VirtualDisk/PassThru path must exist on the host and the VM
//   must have been granted access to it (hcsshim always calls GrantVmAccess first,
//   docs/mounts.md#granting-vm-access — the VM worker process opens the file with the VM's own SID). A file
//   attached writably cannot be attached a second time (the VHD is opened
//   exclusively for write: sharing violation). ExtensibleVirtualDisk paths name a
//   provider's disk, not a file, and are taken as given.
// - VSMB (docs/mounts.md#vsmb-shares): share names unique per UVM (`os` is the boot share);
//   Add/Update/Remove by `Settings.Name`; Update only of an existing share of the
//   same Path (a file share grows its AllowedFiles this way, docs/mounts.md#adding-a-share step 10); the
//   share Path must be an existing host directory and every AllowedFiles entry an
//   existing file in it; writable shares are denied on a UVM created with
//   noWritableFileShares.
// - MappedPipes (docs/mounts.md#named-pipes): keyed by the full host pipe path; HCS does not
//   look for the pipe at Add (the guest opens it through IPC$ on demand), but the
//   collection holds each pipe once.
// - VirtualPci (docs/layers.md#devices-in-a-utility-vm): keyed by VMBus GUID; a device function is assigned
//   to at most one VM at a time.
// - HvSocket ServiceTable (docs/layers.md#hvsocket-service-entry): Update creates or replaces an entry,
//   Update with `Disabled: true` removes it; Remove of a missing entry fails.
// Every check runs before the first change; the returned undo puts the state back
// (used when a forwarded guest request fails).

import {
  PIPE_PREFIX,
  SCSI_CONTROLLER_GUIDS,
  WCOW_SCSI_CONTROLLERS,
  WCOW_SCSI_LUNS,
} from '../../hcs/constants';
import { ERROR_FILE_NOT_FOUND_HR, E_INVALIDARG } from '../../hcs/errors';
import { parseResourcePath } from '../../hcs/resourcepaths';
import type {
  Attachment,
  HvSocketServiceConfig,
  ModifySettingRequest,
  VirtualPciDevice,
  VirtualSmbShare,
} from '../../hcs/schema';
import { dir } from '../winpath';
import { ERROR_ALREADY_EXISTS_HR, ERROR_NOT_FOUND_HR, ERROR_SHARING_VIOLATION_HR, E_ACCESSDENIED } from '../../hcs/errors';
import { Rejection } from './failure';
import type { WindowsFs } from './fs';
import { GUID } from './guid';
import { fold, hasGrant, sameText, type HostState, type ScsiAttachmentState, type UvmState } from './state';

export type Undo = () => void;
/** The synchronous check-and-change step of a modify; returns its undo. */
export type Commit = () => Undo;


function invalid(detail: string): Rejection {
  return new Rejection(E_INVALIDARG, detail);
}

function requestTypeError(request: ModifySettingRequest): Rejection {
  return invalid(`RequestType '${request.RequestType ?? ''}' is not supported for ${request.ResourcePath ?? ''}`);
}

export interface ModifyContext {
  state: HostState;
  uvm: UvmState;
  fs: WindowsFs;
}

/** Read what the request needs from the host, and return its commit step. */
export async function prepareHostModify(ctx: ModifyContext, request: ModifySettingRequest): Promise<Commit> {
  const rp = request.ResourcePath ?? '';
  const path = parseResourcePath(rp);
  switch (path?.kind) {
    case 'vsmb':
      return prepareVsmb(ctx, request);
    case 'scsi':
      return prepareScsi(ctx, request, path.controller, path.lun);
    case 'pipe':
      return pipeCommit(ctx.uvm, request, path.hostPipe);
    case 'vpci':
      return vpciCommit(ctx, request, path.vmBusGuid);
    case 'hvsocket':
      return hvSocketCommit(ctx.uvm, request, path.serviceId);
    case undefined:
      throw invalid(`unknown resource path '${rp}'`);
  }
}

// ---- SCSI ----

async function prepareScsi(ctx: ModifyContext, request: ModifySettingRequest, controller: string, lunText: string): Promise<Commit> {
  const index = SCSI_CONTROLLER_GUIDS.findIndex((g) => sameText(g, controller));
  if (index < 0 || index >= WCOW_SCSI_CONTROLLERS) {
    throw new Rejection(ERROR_NOT_FOUND_HR, `SCSI controller ${controller} does not exist in virtual machine ${ctx.uvm.id}`);
  }
  const lun = /^\d+$/.test(lunText) ? Number(lunText) : NaN;
  if (!(lun < WCOW_SCSI_LUNS)) throw invalid(`invalid SCSI LUN '${lunText}' (0-${WCOW_SCSI_LUNS - 1})`);
  const key = String(lun);
  const { uvm } = ctx;
  if (request.RequestType === 'Remove') {
    return () => {
      if (lun === 0) throw invalid(`LUN 0 holds the scratch disk of virtual machine ${uvm.id} and cannot be removed`);
      const old = uvm.scsi[key];
      if (old === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `no disk is attached at SCSI controller ${controller} LUN ${lun}`);
      delete uvm.scsi[key];
      return () => {
        uvm.scsi[key] = old;
      };
    };
  }
  if (request.RequestType !== 'Add') throw requestTypeError(request);
  const settings = (request.Settings ?? {}) as Attachment;
  const attachment: ScsiAttachmentState = {
    type: settings.Type as ScsiAttachmentState['type'],
    path: settings.Path ?? '',
    readOnly: settings.ReadOnly === true,
  };
  if (settings.ExtensibleVirtualDiskType !== undefined) attachment.extensibleVirtualDiskType = settings.ExtensibleVirtualDiskType;
  if (settings.Type === 'VirtualDisk') {
    const file = await ctx.fs.existing(attachment.path);
    if (file === undefined || !file.stat.isFile) {
      throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `virtual disk '${attachment.path}' was not found`);
    }
    attachment.identity = file.real;
  } else if (settings.Type === 'PassThru') {
    const w = ctx.fs.parse(attachment.path);
    if (w?.kind !== 'physicalDrive' || !ctx.state.physicalDrives.includes(w.number)) {
      throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `physical disk '${attachment.path}' was not found`);
    }
    attachment.identity = `\\\\.\\PHYSICALDRIVE${w.number}`;
  } else if (settings.Type !== 'ExtensibleVirtualDisk') {
    throw invalid(`unsupported attachment type '${settings.Type ?? ''}'`);
  }
  return () => {
    if (uvm.scsi[key] !== undefined) {
      throw new Rejection(ERROR_ALREADY_EXISTS_HR, `SCSI controller ${controller} LUN ${lun} is already in use`);
    }
    const identity = attachment.identity;
    if (identity !== undefined) {
      if (!hasGrant(ctx.state.grants, uvm.id, identity)) {
        throw new Rejection(E_ACCESSDENIED, `virtual machine ${uvm.id} has not been granted access to '${attachment.path}'`);
      }
      const inUse = Object.values(ctx.state.uvms).some((u) =>
        Object.values(u.scsi).some((a) => a.identity === identity && !(a.readOnly && attachment.readOnly)),
      );
      if (inUse) throw new Rejection(ERROR_SHARING_VIOLATION_HR, `'${attachment.path}' is already attached to a virtual machine`);
    }
    uvm.scsi[key] = attachment;
    return () => {
      delete uvm.scsi[key];
    };
  };
}

// ---- VSMB ----

async function prepareVsmb(ctx: ModifyContext, request: ModifySettingRequest): Promise<Commit> {
  const { uvm } = ctx;
  const settings = (request.Settings ?? {}) as VirtualSmbShare;
  const name = settings.Name ?? '';
  if (name === '') throw invalid('a VSMB share needs a Name');
  if (request.RequestType === 'Remove') {
    return () => {
      const old = uvm.vsmbShares[name];
      if (old === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `VSMB share '${name}' does not exist`);
      delete uvm.vsmbShares[name];
      return () => {
        uvm.vsmbShares[name] = old;
      };
    };
  }
  if (request.RequestType !== 'Add' && request.RequestType !== 'Update') throw requestTypeError(request);
  const options = settings.Options ?? {};
  if (!options.ReadOnly && uvm.noWritableFileShares) {
    throw new Rejection(E_ACCESSDENIED, `writable VSMB shares are disabled for virtual machine ${uvm.id}`);
  }
  const path = settings.Path ?? '';
  const share = await ctx.fs.existing(path);
  if (share === undefined) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `VSMB share path '${path}' was not found`);
  if (!share.stat.isDirectory) throw invalid(`VSMB share path '${path}' is not a directory`);
  const allowedFiles = settings.AllowedFiles ?? [];
  for (const f of allowedFiles) {
    const file = await ctx.fs.existing(f);
    if (file === undefined || !file.stat.isFile) throw new Rejection(ERROR_FILE_NOT_FOUND_HR, `allowed file '${f}' was not found`);
    if (!sameText(dir(file.win), share.win)) throw invalid(`allowed file '${f}' is not in share path '${path}'`);
  }
  const next = { name, path, allowedFiles: [...allowedFiles], options: { ...options } };
  const add = request.RequestType === 'Add';
  return () => {
    const old = uvm.vsmbShares[name];
    if (add && old !== undefined) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `VSMB share '${name}' already exists`);
    if (!add) {
      if (old === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `VSMB share '${name}' does not exist`);
      if (!sameText(old.path, path)) throw invalid(`VSMB share '${name}' shares '${old.path}', not '${path}'`);
    }
    uvm.vsmbShares[name] = next;
    return () => {
      if (old === undefined) delete uvm.vsmbShares[name];
      else uvm.vsmbShares[name] = old;
    };
  };
}

// ---- mapped pipes ----

function pipeCommit(uvm: UvmState, request: ModifySettingRequest, pipe: string): Commit {
  if (!pipe.toLowerCase().startsWith(PIPE_PREFIX) || pipe.length === PIPE_PREFIX.length) {
    throw invalid(`'${pipe}' is not a named pipe path`);
  }
  const index = () => uvm.mappedPipes.findIndex((p) => sameText(p, pipe));
  if (request.RequestType === 'Add') {
    return () => {
      if (index() >= 0) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `named pipe '${pipe}' is already mapped`);
      uvm.mappedPipes.push(pipe);
      return () => {
        uvm.mappedPipes.splice(index(), 1);
      };
    };
  }
  if (request.RequestType === 'Remove') {
    return () => {
      const i = index();
      if (i < 0) throw new Rejection(ERROR_NOT_FOUND_HR, `named pipe '${pipe}' is not mapped`);
      const [old] = uvm.mappedPipes.splice(i, 1);
      return () => {
        uvm.mappedPipes.push(old!);
      };
    };
  }
  throw requestTypeError(request);
}

// ---- virtual PCI ----

function vpciCommit(ctx: ModifyContext, request: ModifySettingRequest, vmBusGuid: string): Commit {
  const { uvm } = ctx;
  if (!GUID.test(vmBusGuid)) throw invalid(`'${vmBusGuid}' is not a VMBus GUID`);
  const key = fold(vmBusGuid);
  if (request.RequestType === 'Remove') {
    return () => {
      const old = uvm.vpciDevices[key];
      if (old === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `virtual PCI device ${vmBusGuid} does not exist`);
      delete uvm.vpciDevices[key];
      return () => {
        uvm.vpciDevices[key] = old;
      };
    };
  }
  if (request.RequestType !== 'Add') throw requestTypeError(request);
  const functions = ((request.Settings ?? {}) as VirtualPciDevice).Functions ?? [];
  if (functions.length === 0 || functions.some((f) => !f.DeviceInstancePath)) {
    throw invalid('a virtual PCI device needs Functions with a DeviceInstancePath');
  }
  const same = (a: { DeviceInstancePath?: string; VirtualFunction?: number }, b: typeof a) =>
    sameText(a.DeviceInstancePath ?? '', b.DeviceInstancePath ?? '') && (a.VirtualFunction ?? 0) === (b.VirtualFunction ?? 0);
  return () => {
    if (uvm.vpciDevices[key] !== undefined) throw new Rejection(ERROR_ALREADY_EXISTS_HR, `virtual PCI device ${vmBusGuid} already exists`);
    for (const f of functions) {
      const assigned = Object.values(ctx.state.uvms).some((u) => Object.values(u.vpciDevices).some((fs) => fs.some((g) => same(f, g))));
      if (assigned) throw new Rejection(ERROR_SHARING_VIOLATION_HR, `device '${f.DeviceInstancePath}' is already assigned to a virtual machine`);
    }
    uvm.vpciDevices[key] = functions.map((f) => ({ ...f }));
    return () => {
      delete uvm.vpciDevices[key];
    };
  };
}

// ---- hvsocket service table ----

function hvSocketCommit(uvm: UvmState, request: ModifySettingRequest, serviceId: string): Commit {
  if (!GUID.test(serviceId)) throw invalid(`'${serviceId}' is not an hvsocket service id`);
  const key = fold(serviceId);
  const restore = (old: HvSocketServiceConfig | undefined) => () => {
    if (old === undefined) delete uvm.hvSocketServices[key];
    else uvm.hvSocketServices[key] = old;
  };
  if (request.RequestType === 'Remove') {
    return () => {
      const old = uvm.hvSocketServices[key];
      if (old === undefined) throw new Rejection(ERROR_NOT_FOUND_HR, `hvsocket service ${serviceId} does not exist`);
      delete uvm.hvSocketServices[key];
      return restore(old);
    };
  }
  if (request.RequestType !== 'Update') throw requestTypeError(request);
  // HCS keeps the schema fields only (hvsocket.go:30-37 re-marshals through the struct).
  const s = (request.Settings ?? {}) as HvSocketServiceConfig;
  const config: HvSocketServiceConfig = {};
  if (s.BindSecurityDescriptor) config.BindSecurityDescriptor = s.BindSecurityDescriptor;
  if (s.ConnectSecurityDescriptor) config.ConnectSecurityDescriptor = s.ConnectSecurityDescriptor;
  if (s.AllowWildcardBinds) config.AllowWildcardBinds = true;
  return () => {
    const old = uvm.hvSocketServices[key];
    if (s.Disabled) delete uvm.hvSocketServices[key];
    else uvm.hvSocketServices[key] = config;
    return restore(old);
  };
}
