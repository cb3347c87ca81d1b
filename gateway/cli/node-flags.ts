// The Node.js flags the gateway runs with, wherever it runs: the operator's Deployment, the image's
// default command and the benchmark start it with them (the standalone bin's shebang names them too).
//
// V8 lets the young generation grow to 64 MiB semi-spaces. A gateway streaming messages allocates
// fast and keeps little, so that room filled with garbage: 50 concurrent 25 MiB messages peaked at
// about 400 MiB RSS. With 8 MiB semi-spaces the peak was about 320 MiB, the large messages went
// faster, and pooled 4 KiB submission lost about 10 % (docs/benchmarks.md).
export const GATEWAY_NODE_FLAGS = ["--max-semi-space-size=8"] as const;
