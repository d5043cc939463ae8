// Constants of hcsshim v0.11.4 that shape the HCS/GCS documents and guest paths
// (see docs/behaviour.md#constants, docs/mounts.md).

/**
 * SCSI controller GUIDs: v5 GUIDs of namespace d422512d-… with names "0".."3"
 * (guestrequest.ScsiControllerGuids; docs/mounts.md#controller-and-luns). WCOW UVMs use only [0].
 */
export const SCSI_CONTROLLER_GUIDS = [
  'df6d0690-79e5-55b6-a5ec-c1e2f77f580a',
  '0110f83b-de10-5172-a266-78bca56bf50a',
  'b5d2d8d4-3a75-51bf-945b-3444dc6b8579',
  '305891a9-b251-5dfe-91a2-c25d9212275b',
] as const;

/** WCOW UVMs have exactly one SCSI controller (create.go:139-141; docs/mounts.md#controller-and-luns). */
export const WCOW_SCSI_CONTROLLERS = 1;
/** LUNs per controller; LUN 0 of controller 0 is the UVM's own scratch. */
export const WCOW_SCSI_LUNS = 64;

/** Guest path prefix of every VSMB share; share `s3` is this + `s3` (vsmb.go:26). */
export const VSMB_SHARE_PREFIX = '\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\';
/** Host named pipes appear in the guest under the VSMB IPC$ share (pipes.go:64-72; docs/mounts.md#named-pipes). */
export const VSMB_IPC_PREFIX = VSMB_SHARE_PREFIX + 'IPC$\\';

/** VMBus channel type of assigned VPCI devices, and the enumerator (virtual_device.go:27-28). */
export const VMBUS_CHANNEL_TYPE = '{44c4f61d-4444-4400-9d52-802e27ede19f}';
export const VMBUS_ENUMERATOR = 'VMBUS';

/**
 * Container root in the UVM, `fmt.Sprintf` format with the hex container counter.
 * The mixed separators are hcsshim's (create.go:30): `C:\c/1`; the layer code later
 * cleans it to `C:\c\1` (docs/layers.md#scratch-on-scsi).
 */
export const WCOW_ROOT_IN_UVM_FMT = 'C:\\c/%s';
/** Guest path prefix of WCOW SCSI mounts: `C:\mounts\m<decimal counter>` (docs/mounts.md#counters). */
export const WCOW_GLOBAL_MOUNT_PREFIX = 'C:\\mounts\\m';

/** `sandbox://` mount sources and their root in the UVM (docs/mounts.md#sandbox-mounts). Case-sensitive. */
export const SANDBOX_MOUNT_PREFIX = 'sandbox://';
export const WCOW_SANDBOX_MOUNT_PATH = 'C:\\SandboxMounts';

/** A mount source is a named pipe iff it starts with this, trailing backslash included (docs/mounts.md#named-pipes). */
export const PIPE_PREFIX = '\\\\.\\pipe\\';
/** hcsshim main guestpath.UVMMountPrefix: a mount source inside the pod's utility VM. */
export const UVM_MOUNT_PREFIX = 'uvm://';

/** Optional prefix of extensible-virtual-disk sources (docs/mounts.md#extensible-virtual-disk-paths). */
export const EVD_PREFIX = 'evd://';

/** OCI mount types WCOW accepts; `''` is a bind-like mount (docs/mounts.md#setupmounts-mount-by-mount step 2). */
export const MOUNT_TYPE_PHYSICAL_DISK = 'physical-disk';
export const MOUNT_TYPE_VIRTUAL_DISK = 'virtual-disk';
export const MOUNT_TYPE_EXTENSIBLE_VIRTUAL_DISK = 'extensible-virtual-disk';

/** Guest tools (docs/layers.md#devices-in-a-utility-vm, docs/layers.md#installing-a-driver-directory). */
export const PNPUTIL_PATH = 'C:\\Windows\\System32\\pnputil.exe';
export const DEVICE_UTIL_NAME = 'device-util.exe';
/** pnputil exit code tolerated as "driver not ranked higher" (winapi ERROR_NO_MORE_ITEMS). */
export const ERROR_NO_MORE_ITEMS = 259;
/** Guest processes hcsshim starts for itself run as SYSTEM in `C:\` (diag.go:29-31; cmd.go:118-119). */
export const GUEST_SYSTEM_USER = 'NT AUTHORITY\\SYSTEM';
export const GUEST_WORKING_DIRECTORY = 'C:\\';

/** Assigned-device IDType values (virtual_device.go:17-24; docs/layers.md#device-id-types). */
export const DEVICE_ID_TYPE_GPU = 'gpu';
export const DEVICE_ID_TYPE_LOCATION_PATH = 'vpci-location-path';
export const DEVICE_ID_TYPE_CLASS = 'class';
export const DEVICE_ID_TYPE_CLASS_GUID = 'vpci-class-guid';
export const DEVICE_ID_TYPE_VPCI = 'vpci';
export const DEVICE_ID_TYPE_INSTANCE_ID = 'vpci-instance-id';

/** Annotation keys (pkg/annotations/annotations.go; docs/behaviour.md#constants). */
export const ANNOTATION_KERNEL_DRIVERS = 'io.microsoft.virtualmachine.kerneldrivers';
export const ANNOTATION_GMSA_DISABLE = 'io.microsoft.container.wcow.gmsa.disable';
export const ANNOTATION_DEVICE_EXTENSIONS = 'io.microsoft.container.wcow.deviceextensions';
export const ANNOTATION_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
export const ANNOTATION_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';
export const ANNOTATION_FULLY_PHYSICALLY_BACKED = 'io.microsoft.virtualmachine.fullyphysicallybacked';
export const ANNOTATION_VSMB_NO_DIRECT_MAP = 'io.microsoft.virtualmachine.wcow.virtualSMB.nodirectmap';
export const ANNOTATION_DISABLE_WRITABLE_FILE_SHARES = 'io.microsoft.virtualmachine.fileshares.disablewritable';

/** Values of io.kubernetes.cri.container-type (oci/sandbox.go). */
export const CONTAINER_TYPE_SANDBOX = 'sandbox';
export const CONTAINER_TYPE_CONTAINER = 'container';

/** ContainerId/ActivityId of GCS requests addressed to the UVM itself (docs/mounts.md#adding-an-attachment). */
export const NULL_GUID = '00000000-0000-0000-0000-000000000000';

/** HCS service property type of Container Credential Guard (docs/layers.md#credential-guard). */
export const CCG_PROPERTY_TYPE = 'ContainerCredentialGuard';

/**
 * Argon layer mount retry (layers.go:209-245; docs/layers.md#layers-on-the-host): 5 attempts, 100 ms apart,
 * only for Win32 ERROR_NOT_READY and ERROR_DEVICE_NOT_CONNECTED.
 */
export const LAYER_RETRY_ATTEMPTS = 5;
export const LAYER_RETRY_DELAY_MS = 100;
export const ERROR_NOT_READY = 21;
export const ERROR_DEVICE_NOT_CONNECTED = 1167;
