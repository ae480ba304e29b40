// OPC UA test peer for edgeloop: a node-opcua server with a few variables that change on a
// timer. Usage: node server.js PORT [FAST_ITEMS] [FAST_INTERVAL_MS]
//   ns=1;s=Temperature (Double, 20 + step/10), ns=1;s=Pressure (Float), ns=1;s=Counter (Int32),
//   ns=1;s=Running (Boolean), ns=1;s=Label (String), ns=1;s=Setpoint (Double, writable: each
//   write prints "WRITE Setpoint <value>"), ns=1;s=Broken (Double, status BadSensorFailure),
//   ns=1;s=Fast000.. (Double, FAST_ITEMS of them, +1 every FAST_INTERVAL_MS) in folder Fast.
// Folder Extra (writable, each write prints "WRITE <name> <value>"): ns=1;s=Mode (Int16),
//   ns=1;s=Ratio (Float), ns=1;s=Note (String), ns=1;s=Enabled (Boolean), ns=1;s=Blob
//   (ByteString, 100000 bytes i % 251 at first; a write prints "WRITE Blob <length> <byte sum>"),
//   ns=1;s=Big (String array, 2000 elements "item-<i>-" padded to 40 chars: ~90 KB, for chunking).
// The secure channel token lifetime may be as short as 500 ms (node-opcua's floor is 2.5 s),
// so that the client's renewal can be tested quickly.
// Users: operator/secret (plain password allowed on the None endpoint), and anonymous.
const opcua = require("node-opcua");
const { ServerSecureChannelLayer } = require("node-opcua-secure-channel");

ServerSecureChannelLayer.g_MinimumSecureTokenLifetime = 500;

const port = parseInt(process.argv[2] || "4840", 10);
const fastItems = parseInt(process.argv[3] || "0", 10);
const fastInterval = parseInt(process.argv[4] || "10", 10);

async function main() {
  const server = new opcua.OPCUAServer({
    port,
    resourcePath: "/edgeloop",
    securityPolicies: [opcua.SecurityPolicy.None],
    securityModes: [opcua.MessageSecurityMode.None],
    allowAnonymous: true,
    allowUnsecurePassword: true,
    userManager: { isValidUser: (u, p) => u === "operator" && p === "secret" },
    serverCapabilities: { maxSessions: 50 },
  });
  await server.initialize();
  const space = server.engine.addressSpace;
  const ns = space.getOwnNamespace();
  const plant = ns.addFolder(space.rootFolder.objects, { browseName: "Plant" });
  let step = 0;
  const v = (name, dataType, get, set) =>
    ns.addVariable({ componentOf: plant, browseName: name, nodeId: `s=${name}`, dataType, minimumSamplingInterval: 50,
                     // Without a setter node-opcua would answer a write with Good and drop it: make those read-only.
                     ...(set ? {} : { accessLevel: "CurrentRead", userAccessLevel: "CurrentRead" }),
                     value: set ? { get, set } : { get } });
  v("Temperature", "Double", () => new opcua.Variant({ dataType: "Double", value: 20 + step / 10 }));
  v("Pressure", "Float", () => new opcua.Variant({ dataType: "Float", value: 1.5 + step }));
  v("Counter", "Int32", () => new opcua.Variant({ dataType: "Int32", value: step }));
  v("Running", "Boolean", () => new opcua.Variant({ dataType: "Boolean", value: step % 2 === 1 }));
  v("Label", "String", () => new opcua.Variant({ dataType: "String", value: `step ${step}` }));
  let setpoint = 42.5;
  v("Setpoint", "Double", () => new opcua.Variant({ dataType: "Double", value: setpoint }), (variant) => {
    setpoint = variant.value;
    console.log(`WRITE Setpoint ${setpoint}`);
    return opcua.StatusCodes.Good;
  });
  const broken = ns.addVariable({ componentOf: plant, browseName: "Broken", nodeId: "s=Broken", dataType: "Double" });
  broken.setValueFromSource(new opcua.Variant({ dataType: "Double", value: 0 }), opcua.StatusCodes.BadSensorFailure);
  setInterval(() => { step += 1; }, 100);

  const extra = ns.addFolder(space.rootFolder.objects, { browseName: "Extra" });
  const writable = (name, dataType, initial, show) => {
    let value = initial;
    ns.addVariable({ componentOf: extra, browseName: name, nodeId: `s=${name}`, dataType, minimumSamplingInterval: 50,
      value: { get: () => new opcua.Variant({ dataType, value }),
               set: (variant) => { value = variant.value; console.log(`WRITE ${name} ${show(value)}`);
                                   return opcua.StatusCodes.Good; } } });
  };
  const same = (x) => `${x}`;
  writable("Mode", "Int16", 0, same);
  writable("Ratio", "Float", 0, same);
  writable("Note", "String", "", same);
  writable("Enabled", "Boolean", false, same);
  const blob = Buffer.alloc(100000);
  for (let i = 0; i < blob.length; ++i) blob[i] = i % 251;
  writable("Blob", "ByteString", blob, (b) => `${b.length} ${b.reduce((a, x) => a + x, 0)}`);
  const big = [];
  for (let i = 0; i < 2000; ++i) big.push(`item-${i}-`.padEnd(40, "x"));
  ns.addVariable({ componentOf: extra, browseName: "Big", nodeId: "s=Big", dataType: "String", valueRank: 1,
    minimumSamplingInterval: 50,
    value: { get: () => new opcua.Variant({ dataType: "String", arrayType: opcua.VariantArrayType.Array, value: big }) } });

  if (fastItems > 0) {
    const fast = ns.addFolder(space.rootFolder.objects, { browseName: "Fast" });
    const vars = [];
    for (let i = 0; i < fastItems; ++i) {
      const name = `Fast${String(i).padStart(3, "0")}`;
      vars.push(ns.addVariable({ componentOf: fast, browseName: name, nodeId: `s=${name}`, dataType: "Double",
                                 minimumSamplingInterval: 1 }));
    }
    let n = 0;
    setInterval(() => {
      n += 1;
      for (const x of vars) x.setValueFromSource(new opcua.Variant({ dataType: "Double", value: n }));
    }, fastInterval);
  }
  await server.start();
  // node-opcua's OPCUAServer does not pass allowUnsecurePassword on to its endpoints: add the
  // plain-password user token policy (securityPolicyUri null) to the None endpoints by hand.
  for (const ep of server.endpoints) {
    for (const d of ep.endpointDescriptions()) {
      if (d.securityMode === opcua.MessageSecurityMode.None) {
        d.userIdentityTokens.push(new opcua.UserTokenPolicy({ policyId: "username_unsecure",
          tokenType: opcua.UserTokenType.UserName, securityPolicyUri: null }));
      }
    }
  }
  console.log(`READY ${port}`);
  const stop = async () => { await server.shutdown(0); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
