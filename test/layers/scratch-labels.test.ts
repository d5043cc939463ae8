// containerd's rootfs size labels (containerd plugins/snapshots/windows): the Windows snapshotters
// read `containerd.io/snapshot/windows/rootfs.sizebytes` (uint64 bytes) and the deprecated
// `containerd.io/snapshot/io.microsoft.container.storage.rootfs.size-gb` (uint32 GiB), the
// GiB label first, the bytes label winning; a bad value fails with
// `failed to parse label "<k>"="<v>": <strconv.ParseUint error>`.

import * as assert from 'node:assert/strict';
import { WcowError } from '../../lib/errors';
import { goQuote, parseUint } from '../../lib/hcs/gostrconv';
import { ROOTFS_SIZE_BYTES_LABEL, ROOTFS_SIZE_GB_LABEL, rootfsSizeFromLabels } from '../../lib/layers/labels';

const GiB = 1024n ** 3n;

function labelError(labels: unknown): WcowError {
  try {
    rootfsSizeFromLabels(labels);
  } catch (err) {
    assert.ok(err instanceof WcowError, String(err));
    return err;
  }
  assert.fail('expected a label error');
}

describe('scratch size: containerd rootfs size labels', () => {
  it('absent, empty or 0: no size (no expansion)', () => {
    assert.equal(rootfsSizeFromLabels(undefined), 0n);
    assert.equal(rootfsSizeFromLabels({}), 0n);
    assert.equal(rootfsSizeFromLabels({ [ROOTFS_SIZE_BYTES_LABEL]: '0' }), 0n);
    assert.equal(rootfsSizeFromLabels({ 'containerd.io/snapshot/other': 'x' }), 0n);
  });

  it('the bytes label is a uint64 number of bytes; the deprecated one GiB', () => {
    assert.equal(rootfsSizeFromLabels({ [ROOTFS_SIZE_BYTES_LABEL]: '21474836480' }), 21474836480n);
    assert.equal(rootfsSizeFromLabels({ [ROOTFS_SIZE_GB_LABEL]: '20' }), 20n * GiB);
    assert.equal(rootfsSizeFromLabels({ [ROOTFS_SIZE_BYTES_LABEL]: '007' }), 7n);
  });

  it('both: the bytes label wins', () => {
    assert.equal(rootfsSizeFromLabels({ [ROOTFS_SIZE_GB_LABEL]: '20', [ROOTFS_SIZE_BYTES_LABEL]: '32212254720' }), 30n * GiB);
  });

  it('a bad value: containerd\'s text, ERR_INVALID_ARGUMENT naming the label', () => {
    const e = labelError({ [ROOTFS_SIZE_BYTES_LABEL]: 'abc' });
    assert.equal(e.message, `failed to parse label "${ROOTFS_SIZE_BYTES_LABEL}"="abc": strconv.ParseUint: parsing "abc": invalid syntax`);
    assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
    assert.equal(e.resource, ROOTFS_SIZE_BYTES_LABEL);
  });

  it('the GiB label is parsed first (its error wins, even when the bytes label is good) and is 32-bit', () => {
    const e = labelError({ [ROOTFS_SIZE_GB_LABEL]: '4294967296', [ROOTFS_SIZE_BYTES_LABEL]: '1' });
    assert.equal(e.message, `failed to parse label "${ROOTFS_SIZE_GB_LABEL}"="4294967296": strconv.ParseUint: parsing "4294967296": value out of range`);
    assert.equal(e.resource, ROOTFS_SIZE_GB_LABEL);
  });

  it('larger than a VHDX can be (64 TiB) is refused before anything is created', () => {
    const e = labelError({ [ROOTFS_SIZE_BYTES_LABEL]: '70368744177665' });
    assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
    assert.equal(e.resource, ROOTFS_SIZE_BYTES_LABEL);
    assert.match(e.message, /^label "containerd\.io\/snapshot\/windows\/rootfs\.sizebytes"="70368744177665": 70368744177665 bytes exceeds the VHDX maximum of 70368744177664 bytes \(64 TiB\)$/);
    assert.equal(rootfsSizeFromLabels({ [ROOTFS_SIZE_GB_LABEL]: '65536' }), 64n * 1024n * GiB);
  });

  it('labels that are not a map of strings: ERR_INVALID_ARGUMENT', () => {
    for (const bad of [[], 'x', null, { [ROOTFS_SIZE_BYTES_LABEL]: 20 }]) {
      const e = labelError(bad);
      assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
      assert.match(e.message, /^invalid snapshot labels: /);
    }
  });
});

describe('scratch size: Go strconv.ParseUint and strconv.Quote', () => {
  const cases: [string, 32 | 64, string][] = [
    ['', 64, 'strconv.ParseUint: parsing "": invalid syntax'],
    ['-1', 64, 'strconv.ParseUint: parsing "-1": invalid syntax'],
    ['+1', 64, 'strconv.ParseUint: parsing "+1": invalid syntax'],
    [' 1', 64, 'strconv.ParseUint: parsing " 1": invalid syntax'],
    ['1_000', 64, 'strconv.ParseUint: parsing "1_000": invalid syntax'],
    ['0x10', 64, 'strconv.ParseUint: parsing "0x10": invalid syntax'],
    ['18446744073709551616', 64, 'strconv.ParseUint: parsing "18446744073709551616": value out of range'],
    // The scan stops at the first overflow, before the bad character.
    ['99999999999999999999x', 64, 'strconv.ParseUint: parsing "99999999999999999999x": value out of range'],
    ['x99999999999999999999', 64, 'strconv.ParseUint: parsing "x99999999999999999999": invalid syntax'],
  ];
  for (const [input, bits, message] of cases) {
    it(`${JSON.stringify(input)} (${bits}-bit) → ${message}`, () => assert.throws(() => parseUint(input, bits), { message }));
  }

  it('the largest values of each size parse', () => {
    assert.equal(parseUint('18446744073709551615', 64), 2n ** 64n - 1n);
    assert.equal(parseUint('4294967295', 32), 2n ** 32n - 1n);
  });

  it('Quote escapes quotes, backslashes and what is not printable; printable Unicode stays', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('\n\t\x07\x00\x7f'), '"\\n\\t\\a\\x00\\x7f"');
    assert.equal(goQuote('é€😀'), '"é€😀"');
    assert.equal(goQuote('\u0085\u200b'), '"\\u0085\\u200b"');
    assert.equal(goQuote('\u{e0001}'), '"\\U000e0001"');
  });
});
