// Evaluates a batch of IAM requests with @cloud-copilot/iam-simulate (identity + resource policies,
// every condition operator, same- and cross-account rules). stdin: a JSON list of simulations in the
// library's shape; stdout: a JSON list of {result, errors?} in the same order.
'use strict';
const { runSimulation } = require('@cloud-copilot/iam-simulate');

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const simulations = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const out = [];
  for (const simulation of simulations) {
    const response = await runSimulation(simulation, {});
    if (response.resultType === 'error') {
      out.push({ result: 'Error', errors: response.errors });
    } else {
      out.push({ result: response.overallResult });
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(2);
});
