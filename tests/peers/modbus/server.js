// A Modbus TCP server (npm modbus-serial ServerTCP) for edgeloop's tests and benchmarks.
//   node server.js --port P [--values FILE] [--size N] [--toggle-ms MS]
// --values: JSON {"holding": {"0": 17, ...}, "input": {...}, "coils": {"3": 1}, "discrete": {...}}
//           (register values are raw 16-bit words; addresses are decimal strings).
// --size:   each table has addresses 0..N-1 (default 1000); a request past it gets exception 2
//           (illegal data address).
// --toggle-ms: holding register 0 alternates between 20 and 90 every MS ms (for the write
//           round-trip benchmark: a rule `temp > 80` fires once per cycle).
// --ignore-writes A: writes to holding register A are printed but not stored (a device that
//           refuses the value silently: the read-back check must see it).
// Prints "READY <port>" once listening and "WRITE <table> <address> <value>" for every register
// or coil written, on stdout (one line each, flushed: stdout to a file is synchronous in node).
"use strict";
const fs = require("fs");
const ServerTCP = require("modbus-serial").ServerTCP;

const args = process.argv.slice(2);
function arg(name, def) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const port = parseInt(arg("--port", "5020"), 10);
const size = parseInt(arg("--size", "1000"), 10);
const toggleMs = parseInt(arg("--toggle-ms", "0"), 10);
const ignoreAt = parseInt(arg("--ignore-writes", "-1"), 10);

const holding = new Uint16Array(size);
const input = new Uint16Array(size);
const coils = new Uint8Array(size);
const discrete = new Uint8Array(size);
const valuesFile = arg("--values", "");
if (valuesFile) {
  const v = JSON.parse(fs.readFileSync(valuesFile, "utf8"));
  const fill = (table, src) => { for (const [a, x] of Object.entries(src || {})) table[parseInt(a, 10)] = x; };
  fill(holding, v.holding); fill(input, v.input); fill(coils, v.coils); fill(discrete, v.discrete);
}

function illegal() { const e = new Error("illegal data address"); e.modbusErrorCode = 0x02; return e; }
function check(addr, len) { if (addr < 0 || addr + len > size) throw illegal(); }

const vector = {
  getMultipleHoldingRegisters(addr, len) { check(addr, len); return Array.from(holding.subarray(addr, addr + len)); },
  getHoldingRegister(addr) { check(addr, 1); return holding[addr]; },
  getMultipleInputRegisters(addr, len) { check(addr, len); return Array.from(input.subarray(addr, addr + len)); },
  getInputRegister(addr) { check(addr, 1); return input[addr]; },
  getCoil(addr) { check(addr, 1); return coils[addr] !== 0; },
  getDiscreteInput(addr) { check(addr, 1); return discrete[addr] !== 0; },
  setRegister(addr, value) {
    check(addr, 1);
    if (addr !== ignoreAt) holding[addr] = value;
    process.stdout.write(`WRITE holding ${addr} ${value}\n`);
  },
  setRegisterArray(addr, values) {
    check(addr, values.length);
    for (let i = 0; i < values.length; i++) if (addr + i !== ignoreAt) holding[addr + i] = values[i];
    process.stdout.write(`WRITE holding ${addr} ${values.join(",")}\n`);
  },
  setCoil(addr, value) {
    check(addr, 1);
    coils[addr] = value ? 1 : 0;
    process.stdout.write(`WRITE coil ${addr} ${value ? 1 : 0}\n`);
  },
};

const server = new ServerTCP(vector, { host: "127.0.0.1", port, unitID: 255 });
server.on("initialized", () => process.stdout.write(`READY ${port}\n`));
server.on("serverError", (e) => { process.stderr.write(`server error: ${e}\n`); process.exit(2); });
server.on("socketError", () => {});
server.on("error", () => {});

if (toggleMs > 0) {
  let hot = false;
  setInterval(() => { hot = !hot; holding[0] = hot ? 90 : 20; }, toggleMs);
}
process.on("SIGTERM", () => { server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 200); });
