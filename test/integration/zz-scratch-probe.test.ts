import { test } from 'node:test';
import { network, tenant } from '../support/api.js';
import { createFabric, startEnv } from '../support/fixtures.js';
test('probe', async () => {
  const env = await startEnv();
  try {
    const a = env.admin;
    await createFabric(a);
    await a.post('/v1/tenants', tenant('red'));
    const show = async (label: string, p: Promise<any>) => { const r = await p; console.log(label, r.status, r.headers.get('content-type'), JSON.stringify(r.body).slice(0, 400)); };
    await show('malformed', a.post('/v1/tenants/red/networks', '{"a":'));
    await show('array', a.post('/v1/tenants/red/networks', '[1]'));
    await show('null', a.post('/v1/tenants/red/networks', 'null'));
    await show('big', a.post('/v1/tenants/red/networks', { metadata: { name: 'x' }, spec: { description: 'x'.repeat(1100000) } }));
    await show('vni str', a.post('/v1/tenants/red/networks', network('n', { vni: '5', subnets: [{ cidr: '10.0.0.0/24' }] })));
    await show('vni 1.5', a.post('/v1/tenants/red/networks', network('n', { vni: 1.5, subnets: [{ cidr: '10.0.0.0/24' }] })));
    await show('404', a.get('/v1/tenants/nosuch/networks'));
    await show('name', a.post('/v1/tenants', tenant('')));
    await show('no ctype', a.call('POST', '/v1/tenants', 'hello', { 'content-type': 'text/plain' }));
    await show('docs', a.as(undefined).get('/docs'));
    await show('noauth', a.as(undefined).get('/v1/tenants'));
    await show('cascade', (async () => { await a.post('/v1/tenants/red/networks', network('w', { subnets: [{ cidr: '10.0.0.0/24' }] })); await a.post('/v1/tenants/red/networks/w/endpoints', { metadata: { name: 'e' }, spec: { host: 'h1' } }); return a.delete('/v1/tenants/red/networks/w'); })());
  } finally { await env.close(); }
});
