// The wine server's CimFS calls: the stand-in cimfs.dll (CimMountImage, CimDismountImage) and
// computestorage.dll's overlay filter, mapped onto the server's Host like the vmcompute calls
// (server.ts hands every call here first). Arguments arrive as the stand-ins decoded them:
// the volume GUID as text, flags in decimal, LayerData as the JSON string sent.

import type { Host, OverlayLayerData } from '../../lib/host/types';

/** The reply fields of a CimFS call, or undefined when `fn` is not one. */
export async function cimfsCall(host: Host, fn: string, a: readonly string[]): Promise<string[] | undefined> {
  const arg = (i: number): string => a[i] ?? '';
  switch (fn) {
    case 'CimMountImage':
      await host.cimMountImage(arg(0), arg(1), Number(arg(2)), arg(3));
      return [];
    case 'CimDismountImage':
      await host.cimDismountImage(arg(0));
      return [];
    case 'HcsAttachOverlayFilter':
      await host.attachOverlayFilter(arg(0), JSON.parse(arg(1)) as OverlayLayerData);
      return [];
    case 'HcsDetachOverlayFilter':
      await host.detachOverlayFilter(arg(0), JSON.parse(arg(1)) as OverlayLayerData);
      return [];
    default:
      return undefined;
  }
}
