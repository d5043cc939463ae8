// `wcow-resources vhdx create|inspect|expand`: the VHDX engine (lib/vhdx) on
// local files, e.g. to make the virtual disks that examples mount.

import type { Command } from 'commander';
import { createVhdx, expandVhdx, inspectVhdx } from '../../vhdx';
import { action, type JsonOption } from '../action';
import { fields, formatBytes, table } from '../format';
import { parseSize } from '../input';

interface CreateOptions extends JsonOption {
  size: number;
  blockSize?: number;
}

interface ExpandOptions extends JsonOption {
  size: number;
}

async function summary(file: string): Promise<{ json: unknown; text: string }> {
  const info = await inspectVhdx(file);
  return {
    json: info,
    text:
      fields([
        ['path', info.path],
        ['file size', formatBytes(info.fileSize)],
        ['virtual size', `${formatBytes(info.virtualSize)} (${info.virtualSize} bytes)`],
        ['block size', formatBytes(info.blockSize)],
        ['sectors', `${info.logicalSectorSize} B logical, ${info.physicalSectorSize} B physical`],
        ['type', info.hasParent ? `differencing (parent ${info.parentLocator?.relativePath ?? info.parentLocator?.absoluteWin32Path ?? '?'})` : info.leaveBlocksAllocated ? 'fixed' : 'dynamic'],
        ['disk id', info.diskId],
        ['creator', info.creator],
        ['BAT', `${info.bat.dataBlocks} payload blocks, ${info.bat.byState.fullyPresent} present, ${info.bat.byState.notPresent} not present`],
      ]) +
      '\n' +
      table(
        [{ header: 'header' }, { header: 'offset', align: 'right' }, { header: 'sequence', align: 'right' }, { header: 'current' }, { header: 'valid' }],
        info.headers.map((h) => [String(h.slot), String(h.offset), String(h.sequenceNumber), h.current ? 'yes' : '', h.valid ? 'yes' : `no: ${h.problem ?? ''}`]),
      ),
  };
}

export function vhdxCommand(program: Command): void {
  const vhdx = program.command('vhdx').description('create, inspect and expand VHDX files (the portable MS-VHDX engine)');

  vhdx
    .command('create <path>')
    .description('create a dynamic VHDX of the given virtual size')
    .requiredOption('--size <size>', 'virtual size, e.g. 20GiB, 512MiB', parseSize)
    .option('--block-size <size>', 'payload block size, 1MiB..256MiB (default: the engine default, as Hyper-V)', parseSize)
    .option('--json', 'print one JSON document')
    .action(
      action(async (io, options: CreateOptions, file: string) => {
        await io.progress.around(`creating ${file}`, () =>
          createVhdx(file, { sizeBytes: options.size, ...(options.blockSize === undefined ? {} : { blockSizeBytes: options.blockSize }) }),
        );
        return summary(file);
      }),
    );

  vhdx
    .command('inspect <path>')
    .description('read and verify a VHDX: headers, region table, metadata, BAT')
    .option('--json', 'print one JSON document (every field the engine read)')
    .action(action(async (_io, _options: JsonOption, file: string) => summary(file)));

  vhdx
    .command('expand <path>')
    .description('grow a VHDX to a larger virtual size (as ExpandSandboxSize does)')
    .requiredOption('--size <size>', 'the new virtual size', parseSize)
    .option('--json', 'print one JSON document')
    .action(
      action(async (io, options: ExpandOptions, file: string) => {
        await io.progress.around(`expanding ${file}`, () => expandVhdx(file, options.size));
        return summary(file);
      }),
    );
}
