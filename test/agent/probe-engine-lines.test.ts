// The probe engine's line protocol from both sides: the agent's parser and splitter against
// hostile output (long lines, garbage, numbers out of range, split chunks), and the engine
// binary against hostile input (it reports and ignores, and keeps answering).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { DEFAULT_ENGINE_BINARY, LineSplitter, MAX_ENGINE_LINE, nsToMs, parseEngineLine } from '../../agents/paths/engine/index.js';
import { Rng } from '../support/prng.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('engine line parser', () => {
  test('reads every event kind, with times as epoch milliseconds', () => {
    assert.deepEqual(parseEngineLine('S 7 3 1796540000123456789'), { kind: 'sent', id: 7, seq: 3, txMs: 1796540000123.456789 });
    assert.deepEqual(parseEngineLine('K 7 2'), { kind: 'skipped', id: 7, slots: 2 });
    assert.deepEqual(parseEngineLine('R 7 3 1796540000123456789 1796540000123556789'), { kind: 'reply', id: 7, seq: 3, txMs: 1796540000123.456789, rxMs: 1796540000123.556789 });
    assert.deepEqual(parseEngineLine('Q 4294967295 1000000'), { kind: 'peer', id: 4294967295, rxMs: 1 });
    assert.deepEqual(parseEngineLine('M 7 1500 big 1400'), { kind: 'mtu', id: 7, size: 1500, verdict: 'big', namedMtu: 1400 });
    assert.deepEqual(parseEngineLine('T 999'), { kind: 'time', nowMs: 0.000999 });
    assert.deepEqual(parseEngineLine('D 12'), { kind: 'dropped', lines: 12 });
    assert.deepEqual(parseEngineLine('H ok'), { kind: 'hello', ok: true, error: '' });
    assert.deepEqual(parseEngineLine('H err EPERM'), { kind: 'hello', ok: false, error: 'EPERM' });
    assert.deepEqual(parseEngineLine('E 9 socket: EADDRNOTAVAIL'), { kind: 'refused', id: 9, reason: 'socket: EADDRNOTAVAIL' });
  });

  test('a reply\'s RTT survives the conversion to the microsecond', () => {
    const tx = nsToMs('1796540000123456789')!;
    const rx = nsToMs('1796540000123487789')!;
    assert.ok(Math.abs(rx - tx - 0.031) < 0.001, `${rx - tx}`);
  });

  test('rejects lines that are not exactly an event', () => {
    for (const bad of [
      '', 'S', 'S 7 3', 'S 7 3 12 13', 'S -7 3 12', 'S 7 3 1.5', 'S 4294967296 1 1', 'S 7 3 12345678901234567890', 'S 0x7 3 12',
      's 7 3 12', ' S 7 3 12', 'S  7 3 12', 'M 7 1500 huge 0', 'M 7 1500 ok', 'H maybe', 'H err eperm', 'H err ', 'T', 'T 1 2', 'D x', 'E x y',
      'X 1 2 3', 'S 7 3 12\u0000', `S 7 3 ${'1'.repeat(MAX_ENGINE_LINE)}`,
    ]) assert.equal(parseEngineLine(bad), undefined, JSON.stringify(bad));
  });

  test('random garbage never throws and never parses as a probe event (seeded)', () => {
    const rng = new Rng(13);
    const alphabet = 'SKRQMTDHE 0123456789-x\t\u0000\u00ff';
    for (let i = 0; i < 20_000; i++) {
      const len = rng.between(0, 60);
      let line = '';
      for (let j = 0; j < len; j++) line += alphabet[rng.int(alphabet.length)];
      const ev = parseEngineLine(line);
      if (ev !== undefined) assert.match(line, /^[SKRQMTDHE]( \d+)+/, `parsed ${JSON.stringify(line)}`);
    }
  });
});

describe('engine line splitter', () => {
  test('joins lines split across chunks at any point', () => {
    const text = 'S 1 1 10\nR 1 1 10 20\nT 30\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const lines: string[] = [];
      const s = new LineSplitter();
      s.push(text.slice(0, cut), (l) => lines.push(l));
      s.push(text.slice(cut), (l) => lines.push(l));
      assert.deepEqual(lines, ['S 1 1 10', 'R 1 1 10 20', 'T 30']);
    }
  });

  test('drops an overlong line whole, in one chunk or many, and counts it', () => {
    const lines: string[] = [];
    const s = new LineSplitter(20);
    s.push(`T 1\n${'x'.repeat(50)}\nT 2\n`, (l) => lines.push(l));
    for (let i = 0; i < 100; i++) s.push('y'.repeat(7), (l) => lines.push(l)); // a line that never ends...
    s.push('\nT 3\n', (l) => lines.push(l)); // ...until it does
    assert.deepEqual(lines, ['T 1', 'T 2', 'T 3']);
    assert.equal(s.overlong, 2);
  });
});

describe('engine binary against hostile input', { skip: existsSync(DEFAULT_ENGINE_BINARY) ? false : `no engine at ${DEFAULT_ENGINE_BINARY}` }, () => {
  test('reports malformed commands on stderr, ignores them, and keeps answering', async () => {
    execFileSync('bash', ['bin/build-probe.sh'], { cwd: ROOT }); // rebuilt if the source changed
    const child = spawn(DEFAULT_ENGINE_BINARY, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: string[] = [];
    let err = '';
    createInterface({ input: child.stdout }).on('line', (l) => out.push(l));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.stdin.write(`${'a'.repeat(100_000)}\n`);
    child.stdin.write('add\nadd 1 2 3 4 5 6 7 8 9 10\nadd 1 198.18.0.1 198.18.0.2 0\nadd 2 fe80::1 fe80::2 20\nadd 4294967296 198.18.0.1 198.18.0.2 20\n');
    child.stdin.write('add 3 198.18.0.1 2001:db8::2 20\nadd 5 2001:db8::1 ::ffff:198.18.0.2 20\nadd 6 2001:db8::1 ff02::1 20\nadd 7 2001:db8:::1 2001:db8::2 20\nadd 8 2001:db8::1 :: 20\n');
    child.stdin.write('del\ndel x\ndel 99\nmtu 1 10\nmtu 99 1500\nbogus\n\u0000\u0001\u0002\n\n');
    child.stdin.write('hello\n');
    await new Promise<void>((r) => {
      const check = (): void => (out.some((l) => l.startsWith('H ')) ? r() : void setTimeout(check, 20));
      check();
    });
    child.stdin.end('quit\n');
    assert.equal(await exited, 0, 'quit exits cleanly');
    assert.match(err, /longer than 256 bytes/);
    assert.match(err, /malformed add/);
    assert.match(err, /malformed del/);
    assert.match(err, /unknown command/);
    assert.ok(out.includes('E 1 bad address or rate'), out.join('\n'));
    assert.ok(out.includes('E 2 ipv6 address is link-local, multicast, unspecified or v4-mapped'), out.join('\n'));
    assert.ok(out.includes('E 3 mixed address families (source ipv4, destination ipv6)'), out.join('\n'));
    for (const id of [5, 6, 8]) assert.ok(out.includes(`E ${id} ipv6 address is link-local, multicast, unspecified or v4-mapped`), out.join('\n'));
    assert.ok(out.includes('E 7 bad address or rate'), out.join('\n'));
    assert.ok(out.includes('E 99 no such path'), out.join('\n'));
    for (const l of out) assert.notEqual(parseEngineLine(l), undefined, `the engine printed a line its parser rejects: ${l}`);
  });
});
