// Where the CLI points (src/cli/fabric-support.ts, context.ts) and how it words what went wrong
// (args.ts): flags, then WEFT_SERVER/WEFT_TOKEN, then the context, then the default; the
// context's token only for the context's server; API errors in the CLI's words, once.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseArgs } from 'node:util';
import { HelpRequested, flagProblem, parseCommand } from '../../src/cli/args.js';
import { contextPath, forgetContext, readContext, saveContext } from '../../src/cli/context.js';
import { DEFAULT_SERVER, apiErrorText, resolveConnection } from '../../src/cli/fabric-support.js';
import { ApiError } from '../../src/topology/index.js';

describe('where the CLI points', () => {
  let dir: string;
  const env = (more: Record<string, string> = {}): NodeJS.ProcessEnv => ({ WEFT_CONFIG_DIR: dir, ...more });
  const CTX = 'http://127.0.0.1:41000';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-cli-ctx-'));
    await writeFile(join(dir, 'admin.token'), 'the-admin-token-0123456789\n');
    await saveContext(contextPath(env()), { server: CTX, tokenFile: join(dir, 'admin.token'), pid: 4242, writtenBy: 'weft controller (pid 4242)' });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the context file: $WEFT_CONFIG_DIR, else $XDG_CONFIG_HOME/weft, else ~/.config/weft; 0600', async () => {
    assert.equal(contextPath({ WEFT_CONFIG_DIR: '/x' }), '/x/context.json');
    assert.equal(contextPath({ XDG_CONFIG_HOME: '/cfg', HOME: '/h' }), '/cfg/weft/context.json');
    assert.equal(contextPath({ XDG_CONFIG_HOME: 'relative', HOME: '/h' }), '/h/.config/weft/context.json');
    assert.equal(contextPath({ HOME: '/h' }), '/h/.config/weft/context.json');
    assert.equal((await stat(contextPath(env()))).mode & 0o777, 0o600);
  });

  test('flags, then the environment, then the context, then the default', () => {
    const fromContext = resolveConnection({}, env());
    assert.deepEqual([fromContext.server, fromContext.serverFrom, fromContext.token, fromContext.tokenFrom], [CTX, 'context', 'the-admin-token-0123456789', 'context']);
    const fromEnv = resolveConnection({}, env({ WEFT_SERVER: 'http://e:1', WEFT_TOKEN: 'env-token' }));
    assert.deepEqual([fromEnv.server, fromEnv.serverFrom, fromEnv.token, fromEnv.tokenFrom], ['http://e:1', 'env', 'env-token', 'env']);
    const fromFlags = resolveConnection({ server: 'http://f:1', token: 'flag-token' }, env({ WEFT_SERVER: 'http://e:1', WEFT_TOKEN: 'env-token' }));
    assert.deepEqual([fromFlags.server, fromFlags.serverFrom, fromFlags.token, fromFlags.tokenFrom], ['http://f:1', 'flag', 'flag-token', 'flag']);
    const none = resolveConnection({}, { WEFT_CONFIG_DIR: join(dir, 'empty') });
    assert.deepEqual([none.server, none.serverFrom, none.token], [DEFAULT_SERVER, 'default', undefined]);
    // An empty variable is as good as unset.
    assert.equal(resolveConnection({}, env({ WEFT_SERVER: '', WEFT_TOKEN: '' })).tokenFrom, 'context');
  });

  test("the context's token goes to the context's server only", () => {
    assert.equal(resolveConnection({ server: 'http://elsewhere:7480' }, env()).token, undefined);
    assert.equal(resolveConnection({}, env({ WEFT_SERVER: 'http://elsewhere:7480' })).token, undefined);
    // The same server named explicitly still gets it (whatever trailing slash).
    assert.equal(resolveConnection({ server: `${CTX}/` }, env()).token, 'the-admin-token-0123456789');
    // A context token from WEFT_TOKEN's side never mixes: the environment's token wins.
    assert.equal(resolveConnection({}, env({ WEFT_TOKEN: 'mine' })).token, 'mine');
  });

  test('a context that is not usable is ignored and says why', async () => {
    const bad = join(dir, 'bad');
    for (const [text, why] of [
      ['{not json', /not JSON/],
      ['{"server":"ftp://x"}', /server: must be an http\(s\) URL/],
      [`{"server":"http://a:1","token":"${'x'.repeat(2000)}"}`, /token/],
      ['x'.repeat(20_000), /larger than/],
    ] as const) {
      await saveContextText(bad, text);
      const c = resolveConnection({}, { WEFT_CONFIG_DIR: bad });
      assert.equal(c.serverFrom, 'default');
      assert.match(c.contextProblem ?? '', why);
    }
    await saveContext(contextPath({ WEFT_CONFIG_DIR: bad }), { server: 'http://a:1', tokenFile: join(dir, 'missing.token') });
    assert.match(resolveConnection({}, { WEFT_CONFIG_DIR: bad }).contextProblem ?? '', /token file .*missing\.token does not exist/);
  });

  test('a clean stop removes only its own context', async () => {
    const own = join(dir, 'own');
    await saveContext(contextPath({ WEFT_CONFIG_DIR: own }), { server: CTX, token: 'x'.repeat(20), pid: 1111 });
    assert.equal(await forgetContext(contextPath({ WEFT_CONFIG_DIR: own }), 2222), false);
    assert.ok(readContext(contextPath({ WEFT_CONFIG_DIR: own })).context);
    assert.equal(await forgetContext(contextPath({ WEFT_CONFIG_DIR: own }), 1111), true);
    assert.equal(readContext(contextPath({ WEFT_CONFIG_DIR: own })).context, undefined);
  });

  async function saveContextText(configDir: string, text: string) {
    await saveContext(contextPath({ WEFT_CONFIG_DIR: configDir }), { server: 'http://placeholder:1' });
    await writeFile(contextPath({ WEFT_CONFIG_DIR: configDir }), text);
  }
});

describe('the CLI words errors for its user', () => {
  const conn = (over: Partial<ReturnType<typeof resolveConnection>> = {}) => ({ server: 'http://s:1', serverFrom: 'env' as const, contextPath: '/c/context.json', ...over });

  test('a 401 names --token and WEFT_TOKEN, and why the context gave none', () => {
    const e = new ApiError('GET', '/v1/hosts', 401, 'missing Authorization: Bearer <token>');
    assert.equal(apiErrorText(e, conn()), '401: no token was sent to http://s:1: pass --token TOKEN or set WEFT_TOKEN (there is no context at /c/context.json: weft controller --write-context writes one)');
    assert.match(apiErrorText(e, conn({ context: { server: 'http://other:1' } })), /\(the context \/c\/context\.json is for http:\/\/other:1\)$/);
    assert.equal(apiErrorText(e, conn({ token: 't', tokenFrom: 'env' })), '401: http://s:1 did not accept the token from WEFT_TOKEN; pass one it knows with --token or WEFT_TOKEN');
  });

  test('query parameters read as flags, and an issue the detail already says is not repeated', () => {
    const e = new ApiError('DELETE', '/v1/tenants/red', 409, 'query.cascade: tenant red still has 1 network(s); delete them first or pass ?cascade=true', [
      { field: 'query.cascade', message: 'tenant red still has 1 network(s); delete them first or pass ?cascade=true' },
    ]);
    assert.equal(apiErrorText(e, conn()), '409: --cascade: tenant red still has 1 network(s); delete them first or pass --cascade');
    const two = new ApiError('GET', '/v1/paths', 400, 'invalid query', [{ field: 'query.state', message: 'bad' }, { field: 'query.labelSelector', message: 'worse' }]);
    assert.equal(apiErrorText(two, conn()), '400: invalid query\n  --state: bad\n  -l: worse');
  });

  test("a 403 says whose token it was; an unreachable server says where its URL came from", () => {
    const forbidden = new ApiError('GET', '/v1/hosts', 403, 'this needs the admin token');
    assert.equal(apiErrorText(forbidden, conn({ token: 'wt.red.0123456789ab.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', tokenFrom: 'flag' })), "403: this needs the admin token (the token from --token is tenant red's)");
    const down = new ApiError('GET', '/v1/hosts', 0, 'cannot reach http://s:1: ECONNREFUSED');
    assert.match(apiErrorText(down, conn({ serverFrom: 'context', context: { server: 'http://s:1', writtenBy: 'weft controller (pid 7)' } })), /from the context \/c\/context\.json \(written by weft controller \(pid 7\)\); is that controller still running\?$/);
    assert.match(apiErrorText(down, conn({ serverFrom: 'default' })), /point the CLI at one with --server or WEFT_SERVER/);
  });

  test('bad flags are one line naming the command; --help wins', () => {
    const err = (args: string[]) => {
      try {
        parseArgs({ args, options: { output: { type: 'string', short: 'o' }, cascade: { type: 'boolean' } }, strict: true });
      } catch (e) {
        return flagProblem(e, 'weft get');
      }
      return undefined;
    };
    assert.equal(err(['--x']), 'unknown option --x for weft get; see weft get --help');
    assert.equal(err(['-o']), '--output needs a value; see weft get --help');
    assert.equal(err(['--cascade=yes']), '--cascade takes no value; see weft get --help');
    assert.equal(err(['extra']), 'unexpected argument "extra" for weft get; see weft get --help');
    const cmd = { name: 'weft get', usage: 'Usage: weft get KIND' };
    assert.throws(() => parseCommand(cmd, ['--bogus', '-h'], { options: {} }), (e) => e instanceof HelpRequested && e.usage === cmd.usage);
    // After `--` everything is a positional, --help too.
    assert.deepEqual(parseCommand(cmd, ['--', '--help'], { options: {}, allowPositionals: true }).positionals, ['--help']);
  });
});
