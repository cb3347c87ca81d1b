import { startTestGateway } from "./test-gateway.ts";

const t = { after() {} } as never;
const gw = await startTestGateway(t, {
  users: [{ username: "alice@example.test", password: "alice-secret", cramMd5: true }],
  auth: { mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN", "CRAM-MD5", "EXTERNAL"] },
});
console.log(JSON.stringify({ ports: gw.ports, pki: gw.pki, sink: gw.sink.dir }));
setInterval(() => {}, 100000);
