// An independent Sparkplug B edge node (sparkplug-client) for edgeloop's host application tests.
// Usage: node edge_node.js <broker port> <group> <node>
// Births on connect (node + device "dev1", metrics of many datatypes with aliases). Control via
// MQTT topics test/ctl/<cmd>: data (DDATA by alias), gap (DDATA that skips one seq),
// death (a clean stop with NDEATH). Reports on test/peer/<what> as JSON.
'use strict';
const mqtt = require('mqtt');
const sparkplug = require('sparkplug-client');

const [port, group, node] = process.argv.slice(2);
const url = `mqtt://127.0.0.1:${port}`;
const client = sparkplug.newClient({
  serverUrl: url, username: '', password: '', groupId: group, edgeNode: node,
  clientId: `peer-${node}-${process.pid}`, publishDeath: true, keepalive: 5,
});
const ctl = mqtt.connect(url, { clientId: `ctl-${node}-${process.pid}` });
const report = (what, obj) => ctl.publish(`test/peer/${what}`, JSON.stringify(obj, (k, v) =>
  (v && typeof v === 'object' && typeof v.toNumber === 'function') ? v.toString() : v));

const T0 = 1700000000000;
function births() {
  client.publishNodeBirth({
    timestamp: T0,
    metrics: [
      { name: 'temp', alias: 1, type: 'Float', value: 21.5 },
      { name: 'Node Control/Rebirth', alias: 2, type: 'Boolean', value: false },
    ],
  });
  client.publishDeviceBirth('dev1', {
    timestamp: T0 + 1,
    metrics: [
      { name: 'i8', alias: 10, type: 'Int8', value: -7 },
      { name: 'i16', alias: 11, type: 'Int16', value: -30000 },
      { name: 'i32', alias: 12, type: 'Int32', value: -2000000000 },
      { name: 'i64', alias: 13, type: 'Int64', value: -5000000000 },
      { name: 'u8', alias: 14, type: 'UInt8', value: 250 },
      { name: 'u16', alias: 15, type: 'UInt16', value: 65000 },
      { name: 'u32', alias: 16, type: 'UInt32', value: 4000000000 },
      { name: 'u64', alias: 17, type: 'UInt64', value: 9007199254740991 },
      { name: 'f', alias: 18, type: 'Float', value: 1.25 },
      { name: 'd', alias: 19, type: 'Double', value: -0.1 },
      { name: 'b', alias: 20, type: 'Boolean', value: true },
      { name: 'dt', alias: 21, type: 'DateTime', value: 1700000000123 },
      { name: 'label', alias: 22, type: 'String', value: 'pump' },
      { name: 'setpoint', alias: 23, type: 'Double', value: 0 },
    ],
  });
}

let nbirths = 0;
client.on('birth', () => { births(); report('births', { n: ++nbirths }); });
client.on('ncmd', (payload) => {
  report('ncmd', payload);
  const rebirth = (payload.metrics || []).find((m) => m.name === 'Node Control/Rebirth');
  if (rebirth && rebirth.value === true) { births(); report('births', { n: ++nbirths, rebirth: true }); }
});
client.on('dcmd', (device, payload) => report('dcmd', { device, payload }));

function data(i8, d) {
  client.publishDeviceData('dev1', {
    timestamp: T0 + 100,
    metrics: [
      { alias: 10, type: 'Int8', value: i8 },
      { alias: 19, type: 'Double', value: d },
      { alias: 20, type: 'Boolean', value: false },
    ],
  });
}

ctl.on('connect', () => ctl.subscribe('test/ctl/#', () => report('ready', { pid: process.pid })));
ctl.on('message', (topic) => {
  const cmd = topic.split('/')[2];
  if (cmd === 'data') data(-128, 3.5);
  else if (cmd === 'gap') { client.seq = (client.seq + 1) % 256; data(100, 4.5); }
  else if (cmd === 'death') { client.stop(); setTimeout(() => report('dead', {}), 50); }
  else if (cmd === 'quit') { ctl.end(true, () => process.exit(0)); }
  report('ack', { cmd });
});
process.on('SIGTERM', () => process.exit(0));
