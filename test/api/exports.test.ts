// The public names DESIGN.md promises (users' code relies on them) are exported from the package root.
import * as assert from 'node:assert/strict';
import * as api from '../../lib/index';

describe('package root', () => {
  it('exports the DESIGN.md API', () => {
    for (const name of [
      'allocateWindowsResources',
      'planWindowsResources',
      'recover',
      'SimulatedHost',
      'createHost',
      'NativeHost',
      'WcowError',
      'ReleaseError',
      'createVhdx',
      'createDifferencingVhdx',
      'inspectVhdx',
      'expandVhdx',
      'readVhdx',
      'writeVhdx',
      'onStep',
    ] as const) {
      assert.equal(typeof api[name], 'function', name);
    }
    assert.equal(api.STEP_CHANNEL, 'wcow-resources:step');
  });

  it('createHost gives the simulated host off Windows', () => {
    if (process.platform === 'win32') return;
    assert.ok(api.createHost() instanceof api.SimulatedHost);
  });
});
