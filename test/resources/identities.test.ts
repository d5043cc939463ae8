// Typed resource identities (issue 13 point 2): the one resource-path parser beside its
// formatters, the journal's lines read back with validation, and the one journal lister.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JournalError } from '../../lib/errors';
import { SCSI_CONTROLLER_GUIDS } from '../../lib/hcs/constants';
import { hvSocketServicePath, mappedPipePath, parseResourcePath, scsiAttachmentPath, scsiLocation, virtualPciPath, VSMB_SHARES_PATH } from '../../lib/hcs/resourcepaths';
import { SimulatedHost } from '../../lib/host/simulated';
import { Journal, readJournal } from '../../lib/resources';
import { recover } from '../../lib/recover';
import { hostIdentity, listJournals } from '../../lib/resources/journal';
import { decodeEntry, encodeEntry, type Entry } from '../../lib/resources/journal/format';
import { RecoverProgress, journalName } from '../../lib/resources/journal/journal';
import { modifyEffect } from '../../lib/resources/journal/undo';

describe('resource identities', () => {
  describe('resource paths', () => {
    it('parses back what each formatter makes', () => {
      const scsi = parseResourcePath(scsiAttachmentPath(0, 17));
      assert.deepEqual(scsi, { kind: 'scsi', controller: SCSI_CONTROLLER_GUIDS[0], lun: '17' });
      assert.deepEqual(scsi?.kind === 'scsi' ? scsiLocation(scsi) : undefined, { controller: 0, lun: 17 });
      assert.deepEqual(parseResourcePath(VSMB_SHARES_PATH), { kind: 'vsmb' });
      assert.deepEqual(parseResourcePath(mappedPipePath('\\\\.\\pipe\\a/b')), { kind: 'pipe', hostPipe: '\\\\.\\pipe\\a/b' });
      const guid = '7d3a8b0c-2f4e-4a51-9b6d-0e1f2a3b4c5d';
      assert.deepEqual(parseResourcePath(virtualPciPath(guid)), { kind: 'vpci', vmBusGuid: guid });
      assert.deepEqual(parseResourcePath(hvSocketServicePath(guid)), { kind: 'hvsocket', serviceId: guid });
    });

    it('refuses what this package never sends; a SCSI location outside the UVM is no location', () => {
      for (const p of ['', 'VirtualMachine/Devices/Scsi/x', 'VirtualMachine/Devices/Scsi//Attachments/1', 'VirtualMachine/Devices/Scsi/a/b/Attachments/1', 'VirtualMachine/Devices/Scsi/a/Attachments/', 'VirtualMachine/Devices/Other/1']) {
        assert.equal(parseResourcePath(p), undefined, p);
      }
      assert.equal(scsiLocation({ controller: 'not-a-controller', lun: '1' }), undefined);
      assert.equal(scsiLocation({ controller: SCSI_CONTROLLER_GUIDS[0], lun: '64' }), undefined);
      assert.equal(scsiLocation({ controller: SCSI_CONTROLLER_GUIDS[0], lun: '1x' }), undefined);
      assert.deepEqual(scsiLocation({ controller: SCSI_CONTROLLER_GUIDS[1].toUpperCase(), lun: '3' }), { controller: 1, lun: 3 });
    });

    it('the journal records no removal for an attachment on an unknown controller', () => {
      const req = { ResourcePath: 'VirtualMachine/Devices/Scsi/00000000-0000-0000-0000-000000000000/Attachments/1', RequestType: 'Add' as const };
      assert.equal(modifyEffect('vm', req), undefined);
      assert.deepEqual(modifyEffect('vm', { ...req, ResourcePath: scsiAttachmentPath(0, 1) }), { kind: 'acquire', undo: { op: 'scsi.remove', uvmId: 'vm', controller: 0, lun: 1 } });
    });
  });

  describe('journal lines', () => {
    const every: Entry[] = [
      { t: 'owner', v: 2, id: 'c1', pid: 42, start: '123', at: 1, host: 'h' },
      { t: 'owner', v: 2, id: 'c1', pid: 42, at: 1, host: 'h' },
      { t: 'acquire', n: 1, at: 2, undo: { op: 'scsi.remove', uvmId: 'vm', controller: 0, lun: 3 } },
      { t: 'acquire', n: 2, at: 2, undo: { op: 'guest.disk.remove', uvmId: 'vm', containerPath: 'C:\\c', lun: 3 } },
      { t: 'acquire', n: 3, at: 2, undo: { op: 'layer.deactivate', path: 'C:\\s' } },
      { t: 'done', n: 1, ok: false },
      { t: 'removed', undo: { op: 'vsmb.remove', uvmId: 'vm', name: 's1' }, by: 'recover' },
      { t: 'removed', undo: { op: 'cim.dismount', volumeGuid: 'g' } },
      { t: 'dropped', undo: { op: 'overlay.detach', volumePath: 'v' } },
      { t: 'abandoned' },
    ];

    it('reads back every record as written', () => {
      for (const e of every) assert.deepEqual(decodeEntry(encodeEntry(e).toString().trimEnd()), e);
    });

    it('names what is wrong with a line that is not a record, and keeps only the fields a record has', () => {
      const bad: [string, RegExp][] = [
        ['[1]', /not a JSON object/],
        ['{"t":"acquire","n":1,"at":2,"undo":{"op":"scsi.remove","uvmId":"vm","controller":0,"lun":"3"}}', /undo 'scsi.remove': 'lun' is not a non-negative integer/],
        ['{"t":"acquire","n":1,"at":2,"undo":{"op":"rm -rf","path":"/"}}', /unknown undo 'rm -rf'/],
        ['{"t":"acquire","n":-1,"at":2,"undo":{"op":"ccg.remove","id":"c"}}', /'n' is not a non-negative integer/],
        ['{"t":"done","n":1,"ok":"no"}', /'ok' is not a boolean/],
        ['{"t":"removed","undo":{"op":"ccg.remove","id":"c"},"by":"me"}', /'by' is not 'recover'/],
        ['{"t":"owner","v":3,"id":"c","pid":1,"at":1,"host":"h"}', /version 3/],
        ['{"t":"owner","v":2,"id":"c","pid":1,"at":1}', /'host' is not a string/],
        ['{"t":"pwned"}', /unknown record type "pwned"/],
      ];
      for (const [line, why] of bad) assert.throws(() => decodeEntry(line), why, line);
      assert.deepEqual(decodeEntry('{"t":"dropped","x":1,"undo":{"op":"ccg.remove","id":"c","extra":"y"}}'), { t: 'dropped', undo: { op: 'ccg.remove', id: 'c' } });
    });

    describe('in a journal file', () => {
      let dir: string;
      beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wcow-ids-'));
      });
      afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

      it('a malformed line is ERR_JOURNAL naming the file, the line and the field; recover keeps the journal as corrupt', async () => {
        const host = new SimulatedHost({ root: dir, stateDir: false });
        const jdir = path.join(dir, 'j');
        fs.mkdirSync(jdir, { mode: 0o700 });
        const file = path.join(jdir, journalName('c1'));
        const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
        const owner = { t: 'owner', v: 2, id: 'c1', pid: dead, at: 1, host: hostIdentity(host) };
        fs.writeFileSync(file, `${JSON.stringify(owner)}\n{"t":"acquire","n":1,"at":2,"undo":{"op":"vsmb.remove","uvmId":"vm","name":7}}\n`, { mode: 0o600 });
        assert.throws(
          () => readJournal(file),
          (err: unknown) =>
            err instanceof JournalError && err.code === 'ERR_JOURNAL' && err.op === 'journal.read' && err.resource === file && /corrupt at line 2: undo 'vsmb.remove': 'name' is not a string/.test(err.message),
        );
        const report = await recover({ dir: jdir, host });
        assert.deepEqual(report.journals.map((j) => j.status), ['corrupt']);
        assert.ok(fs.existsSync(file));
      });

      it("recover's progress goes after the last complete line, a torn tail cut, as records the reader takes back", async () => {
        const host = new SimulatedHost({ root: dir, stateDir: false });
        const j = await Journal.create(path.join(dir, 'j'), 'c1', hostIdentity(host));
        const undo = { op: 'ccg.remove' as const, id: 'c1' };
        await j.acquire(undo);
        await j.abandon();
        fs.appendFileSync(j.path, '{"t":"remov');
        const before = readJournal(j.path);
        assert.deepEqual(before.held.map((h) => h.undo), [undo]);
        const progress = new RecoverProgress(j.path, before.end);
        progress.removed(undo);
        progress.close();
        const after = readJournal(j.path);
        assert.deepEqual([after.held, after.abandoned], [[], true]);
        assert.ok(fs.readFileSync(j.path, 'utf8').endsWith('{"t":"removed","undo":{"op":"ccg.remove","id":"c1"},"by":"recover"}\n'));
      });

      it('one lister: journals by name, temporaries with their writer pid, nothing for a missing directory', () => {
        assert.deepEqual(listJournals(path.join(dir, 'none')), { journals: [], temporaries: [] });
        for (const n of ['b.journal', 'a.journal', 'a.journal.123.0000abcd.tmp', 'recover.lock.x.tmp', 'other']) fs.writeFileSync(path.join(dir, n), '');
        assert.deepEqual(listJournals(dir), {
          journals: [path.join(dir, 'a.journal'), path.join(dir, 'b.journal')],
          temporaries: [
            { path: path.join(dir, 'a.journal.123.0000abcd.tmp'), pid: 123 },
            { path: path.join(dir, 'recover.lock.x.tmp'), pid: undefined },
          ],
        });
      });
    });
  });
});
