// sandbox:// sources are allow-listed (docs/differences.md#difference-10, extending 6): the path reaches
// `cmd /c mkdir P & dir P` in the utility VM (docs/mounts.md#sandbox-mounts), where cmd.exe splits the
// arguments of its built-ins at `;` `,` `=` as well as at blanks, and where `& | < > ^ % ! ( ) "`
// are metacharacters. Only what cannot change the command gets through.

import assert from 'node:assert/strict';
import { WcowError } from '../../lib/errors';
import { validateSpec } from '../../lib/oci/validate';

const XENON = { hypervisorIsolated: true };

function validate(source: string): WcowError | undefined {
  try {
    validateSpec({ windows: { layerFolders: ['C:\\layers\\l1', 'C:\\layers\\s'] }, mounts: [{ source, destination: 'C:\\sb' }] }, XENON);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof WcowError, String(err));
    return err;
  }
}

describe('sandbox:// allow-list (docs/differences.md#difference-10)', () => {
  it('issue 15.5: cmd.exe argument separators ; , = are refused, naming the character', () => {
    for (const c of [';', ',', '=']) {
      const source = `sandbox://x${c}C:\\Windows\\System32\\evil`;
      const err = validate(source);
      assert.ok(err !== undefined, `${source} was accepted`);
      assert.equal(err.code, 'ERR_INVALID_MOUNT');
      assert.equal(err.resource, 'C:\\sb');
      assert.match(err.message, new RegExp(`contains ${JSON.stringify(JSON.stringify(c)).slice(1, -1)}`));
    }
  });

  it('every cmd.exe metacharacter and every other character outside the list is refused', () => {
    const refused = ['&', '|', '<', '>', '^', '%', '!', '(', ')', '"', '@', '`', "'", '~', '*', '?', ':', '$', '#', '+', '[', ']', '{', '}', '\t', '\n', '\r', '\u0000', '\u00a0', '\u02ba', '\uff06', 'é'];
    for (const c of refused) {
      const err = validate(`sandbox:///a${c}b`);
      assert.ok(err !== undefined, `${JSON.stringify(c)} was accepted`);
      assert.equal(err.code, 'ERR_INVALID_MOUNT');
    }
  });

  it("what hcsshim's own tests and the docs/ vectors use is accepted", () => {
    for (const source of ['sandbox:///a/b', 'sandbox://a/b', 'sandbox:///test', 'sandbox://path\\to\\sandboxMount', 'sandbox:///a/./b', 'sandbox:////a//b', 'sandbox:///a/../b', 'sandbox://', 'sandbox:///my dir', 'sandbox:///v1.2_x-Y9']) {
      assert.equal(validate(source), undefined, source);
    }
  });
});
