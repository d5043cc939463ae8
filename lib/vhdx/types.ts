// Public types of the VHDX engine (native/vhdx). GUIDs are upper-case strings
// without braces; sizes and offsets are byte counts.

export interface CreateVhdxOptions {
  /** Virtual disk size; a multiple of the logical sector size, at most 64 TiB. */
  sizeBytes: number;
  /** Power of two from 1 MiB to 256 MiB; default 1 MiB (hcsshim's layer VHDs). */
  blockSizeBytes?: number;
  /** 512 (default) or 4096. */
  logicalSectorBytes?: number;
  /** 512 or 4096 (default). */
  physicalSectorBytes?: number;
  /** Replace an existing file (atomically); default false: ERR_VHDX_EXISTS. */
  overwrite?: boolean;
  /** Default true: resolve only once the file and its directory entry are on disk. `false` exists for benchmarks. */
  flush?: boolean;
}

export interface CreateDifferencingVhdxOptions {
  /** The parent as this process opens it (read for its geometry and DataWriteGuid). */
  parentPath: string;
  /**
   * The parent as the child records it (MS-VHDX parent locator). Default: the
   * parent relative to the child's directory, with Windows separators.
   */
  relativePath?: string;
  /** Recorded `absolute_win32_path`. Default on Windows: the parent's full path; elsewhere not recorded. */
  absoluteWin32Path?: string;
  /** Recorded `volume_path` (`\\?\Volume{…}\…`); not recorded unless given. */
  volumePath?: string;
  /** Default: the parent's block size. */
  blockSizeBytes?: number;
  overwrite?: boolean;
  flush?: boolean;
}

export interface VhdxHeaderInfo {
  /** 1 (at 64 KiB) or 2 (at 128 KiB), as MS-VHDX numbers them. */
  slot: 1 | 2;
  offset: number;
  /** The valid header with the larger sequence number. */
  current: boolean;
  valid: boolean;
  signatureValid: boolean;
  checksumValid: boolean;
  /** Why the header is not valid. */
  problem?: string;
  sequenceNumber: number;
  fileWriteGuid: string;
  dataWriteGuid: string;
  logGuid: string;
  version: number;
  logVersion: number;
  logOffset: number;
  logLength: number;
}

export interface VhdxRegionEntry {
  guid: string;
  region: 'bat' | 'metadata' | 'unknown';
  fileOffset: number;
  length: number;
  required: boolean;
}

export interface VhdxRegionTableInfo {
  slot: 1 | 2;
  offset: number;
  valid: boolean;
  problem?: string;
  entries: VhdxRegionEntry[];
}

export interface VhdxMetadataItem {
  itemId: string;
  name:
    | 'fileParameters'
    | 'virtualDiskSize'
    | 'page83Data'
    | 'logicalSectorSize'
    | 'physicalSectorSize'
    | 'parentLocator'
    | 'unknown';
  /** From the start of the metadata region. */
  offset: number;
  length: number;
  isUser: boolean;
  isVirtualDisk: boolean;
  isRequired: boolean;
}

export interface VhdxParentLocator {
  locatorType: string;
  /** Every key/value pair, as stored. */
  entries: Record<string, string>;
  /** The parent's DataWriteGuid in braces. */
  parentLinkage: string;
  relativePath?: string;
  absoluteWin32Path?: string;
  volumePath?: string;
}

export interface VhdxBatInfo {
  offset: number;
  length: number;
  /** TotalBATEntries of the disk (payload and sector bitmap entries). */
  entries: number;
  chunkRatio: number;
  dataBlocks: number;
  /** Payload block entries by state (MS-VHDX 2.5.1.1). */
  byState: {
    notPresent: number;
    undefined: number;
    zero: number;
    unmapped: number;
    fullyPresent: number;
    partiallyPresent: number;
  };
  sectorBitmapBlocks: { present: number; notPresent: number };
}

export interface VhdxInfo {
  path: string;
  fileSize: number;
  creator: string;
  virtualSize: number;
  blockSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  hasParent: boolean;
  leaveBlocksAllocated: boolean;
  /** The Page 83 Data identifier (the disk's SCSI identity). */
  diskId: string;
  /** Of the current header. */
  dataWriteGuid: string;
  fileWriteGuid: string;
  logGuid: string;
  headers: [VhdxHeaderInfo, VhdxHeaderInfo];
  regionTables: [VhdxRegionTableInfo, VhdxRegionTableInfo];
  metadataRegion: { offset: number; length: number };
  metadataItems: VhdxMetadataItem[];
  parentLocator?: VhdxParentLocator;
  bat: VhdxBatInfo;
}
