// The one redaction rule (lib/credentials/redact.ts): a property named CredentialSpec, in
// any case, loses its value wherever data leaves the engine.

import assert from 'node:assert/strict';
import { REDACTED, redact, redactText, secretReplacer } from '../../lib/credentials/redact';
import { HcsError } from '../../lib/errors';
import { onStep, traceStep, type StepContext } from '../../lib/trace';

const SPEC = JSON.stringify({ CmsPlugins: ['ActiveDirectory'], DomainJoinConfig: { Password: 's3cr3t' } });

describe('credential-spec redaction', () => {
  it('redact: every CredentialSpec key in plain data, any case, any value; the input is untouched', () => {
    const input = { a: 1, windows: { credentialSpec: SPEC }, list: [{ CredentialGuard: { CredentialSpec: SPEC, Cookie: 'c' } }], odd: { CREDENTIALSPEC: { nested: SPEC } }, n: null };
    const out = redact(input);
    assert.deepEqual(out, { a: 1, windows: { credentialSpec: REDACTED }, list: [{ CredentialGuard: { CredentialSpec: REDACTED, Cookie: 'c' } }], odd: { CREDENTIALSPEC: REDACTED }, n: null });
    assert.equal(input.windows.credentialSpec, SPEC);
  });

  it('redact: class instances become their name, functions go, errors their JSON view, cycles are cut', () => {
    class Holder {
      secret = SPEC;
    }
    const cyclic: Record<string, unknown> = { h: new Holder(), f: () => SPEC };
    cyclic.self = cyclic;
    assert.deepEqual(redact(cyclic), { h: '[Holder]', self: '[Circular]' });
    const e = redact(new HcsError('boom', { op: 'ccg.add' })) as Record<string, unknown>;
    assert.equal(e.code, 'ERR_HCS');
    assert.equal(e.op, 'ccg.add');
  });

  it('redactText: the JSON value after "CredentialSpec": — string, object or array — and nothing else', () => {
    const doc = JSON.stringify({ Id: 'c1', CredentialSpec: SPEC, Transport: 'LRPC' }, null, 2);
    assert.equal(redactText(doc), JSON.stringify({ Id: 'c1', CredentialSpec: REDACTED, Transport: 'LRPC' }, null, 2));
    assert.equal(redactText('{"credentialspec": {"a": [1, "}"]}, "b": 2}'), `{"credentialspec": ${JSON.stringify(REDACTED)}, "b": 2}`);
    assert.equal(redactText('no secret here: credentialSpec is a word'), 'no secret here: credentialSpec is a word');
  });

  it('secretReplacer: JSON.stringify with the rule', () => {
    assert.equal(JSON.stringify({ x: { CredentialSpec: SPEC } }, secretReplacer), JSON.stringify({ x: { CredentialSpec: REDACTED } }));
  });

  it('errors are redacted where they are made: message and HCS result document', () => {
    const e = new HcsError(`failed: {"CredentialSpec":${JSON.stringify(SPEC)}}`, { result: { ErrorMessage: 'x', CredentialSpec: SPEC } as never });
    assert.ok(!JSON.stringify(e).includes('s3cr3t'));
    assert.ok(!e.message.includes('s3cr3t'));
  });

  it('trace subscribers get a redacted ctx.result; the caller gets the value itself', async () => {
    const seen: StepContext[] = [];
    const off = onStep({ end: (c) => seen.push(c) });
    try {
      const v = await traceStep('ccg.add', 'step', async () => ({ CredentialSpec: SPEC }));
      assert.equal(v.CredentialSpec, SPEC);
    } finally {
      off();
    }
    assert.deepEqual((seen[0] as StepContext & { result?: unknown }).result, { CredentialSpec: REDACTED });
  });
});
