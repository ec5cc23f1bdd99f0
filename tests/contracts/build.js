// Rebuilds the committed test-contract artifacts (artifacts/<Name>.json: {abi, bytecode}) offline with the
// devnet's solc-js and the @account-abstraction/contracts v0.7 and OpenZeppelin sources it installed.
// Usage: BUTLER_DEVNET_HOME=/path/to/.devnet node tests/contracts/build.js
const fs = require('fs');
const path = require('path');

const here = __dirname;
const home = process.env.BUTLER_DEVNET_HOME || path.join(here, '..', '..', '.devnet');
const modules = path.join(home, 'node_modules');
const solc = require(path.join(modules, 'solc'));

const remap = [
  ['@account-abstraction/contracts/', path.join(modules, 'aa-contracts-07') + '/'],
  ['@openzeppelin/contracts/', path.join(modules, '@openzeppelin', 'contracts') + '/'],
];
function findImports(p) {
  for (const [prefix, dir] of remap) {
    if (p.startsWith(prefix)) {
      return { contents: fs.readFileSync(dir + p.slice(prefix.length), 'utf8') };
    }
  }
  const local = path.join(here, p);
  if (fs.existsSync(local)) return { contents: fs.readFileSync(local, 'utf8') };
  return { error: 'not found: ' + p };
}

const contracts = ['TestEmitter', 'TestPaymaster', 'StakingRegistry'];
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(contracts.map((c) => [c + '.sol', { content: fs.readFileSync(path.join(here, c + '.sol'), 'utf8') }])),
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of out.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);
fs.mkdirSync(path.join(here, 'artifacts'), { recursive: true });
for (const c of contracts) {
  const art = out.contracts[c + '.sol'][c];
  const file = path.join(here, 'artifacts', c + '.json');
  fs.writeFileSync(file, JSON.stringify({ abi: art.abi, bytecode: '0x' + art.evm.bytecode.object }, null, 1) + '\n');
  console.log('wrote', path.relative(process.cwd(), file));
}
console.log('compiled with solc', solc.version());
