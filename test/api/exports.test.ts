// The public names docs/behaviour.md#public-api promises (users' code relies on them) are exported from the package root.
import * as assert from 'node:assert/strict';
import * as api from '../../lib/index';

describe('package root', () => {
  it('exports the API of docs/behaviour.md#public-api', () => {
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
