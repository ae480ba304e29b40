// An independent Sparkplug B host (mqtt + sparkplug-payload) for edgeloop's edge node tests.
// Usage: node host.js <broker port> <group>
// Decodes every spBv1.0/<group>/# message and re-publishes it as JSON on
// test/decoded/<TYPE>[/<device>]; test/ctl/rebirth/<node> sends a Rebirth NCMD.
'use strict';
const mqtt = require('mqtt');
const sparkplug = require('sparkplug-payload').get('spBv1.0');

const [port, group] = process.argv.slice(2);
const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: `host-${process.pid}` });
const json = (obj) => JSON.stringify(obj, (k, v) =>
  (v && typeof v === 'object' && typeof v.toNumber === 'function') ? v.toString() : v);

c.on('connect', () => c.subscribe([`spBv1.0/${group}/#`, 'test/ctl/#'], () =>
  c.publish('test/peer/ready', json({ pid: process.pid }))));
c.on('message', (topic, msg) => {
  const parts = topic.split('/');
  if (parts[0] === 'test') {
    if (parts[2] === 'rebirth') {
      c.publish(`spBv1.0/${group}/NCMD/${parts[3]}`, Buffer.from(sparkplug.encodePayload({
        timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }],
      })));
    }
    return;
  }
  let decoded;
  try { decoded = sparkplug.decodePayload(msg); } catch (e) { decoded = { error: String(e) }; }
  c.publish(`test/decoded/${parts.slice(2).join('/')}`, json(decoded));
});
process.on('SIGTERM', () => process.exit(0));
