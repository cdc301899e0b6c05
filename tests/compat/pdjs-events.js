const { event, trigger, acknowledge, resolve } = require('@pagerduty/pdjs');
const server = process.argv[2];
(async () => {
  const t = await event({ server, data: {
      routing_key: '0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60', event_action: 'trigger', dedup_key: 'pdjs-1',
      payload: { summary: 'pdjs trigger', source: 'pdjs-host', severity: 'error',
                 custom_details: { library: '@pagerduty/pdjs' } } } });
  console.log('trigger', t.status, JSON.stringify(t.data));
  const a = await acknowledge({ server, data: { routing_key: '0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60', dedup_key: 'pdjs-1' } });
  console.log('acknowledge', a.status, JSON.stringify(a.data));
  const r = await resolve({ server, data: { routing_key: '0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60', dedup_key: 'pdjs-1' } });
  console.log('resolve', r.status, JSON.stringify(r.data));
  const bad = await event({ server, data: { routing_key: '0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60', event_action: 'trigger', payload: { summary: 's', source: 'h', severity: 'fatal' } } });
  console.log('invalid', bad.status, JSON.stringify(bad.data));
})().catch(e => { console.error('ERR', e); process.exit(1); });
