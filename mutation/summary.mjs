// `node mutation/summary.mjs <module> [--survivors]`: the per-file table of a module's last report
// (reports/mutation/<module>.json) as docs/testing.md records it, and with --survivors every
// surviving or uncovered mutant as `file:line:column mutator [original] -> replacement`.
import { readFileSync } from 'node:fs';

const [name, flag] = process.argv.slice(2);
if (name === undefined) {
  console.error('usage: node mutation/summary.mjs <module> [--survivors]');
  process.exit(2);
}
const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, 'utf8'));
const DETECTED = new Set(['Killed', 'Timeout']);
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);
const rows = [];
const total = { mutants: 0, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
const survivors = [];
for (const [file, { source, mutants }] of Object.entries(report.files)) {
  const row = { mutants: 0, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  const lines = source.split('\n');
  for (const m of mutants) {
    if (!COUNTED.has(m.status)) continue;
    row.mutants++;
    row[m.status]++;
    if (!DETECTED.has(m.status)) {
      const { start, end } = m.location;
      const text = start.line === end.line ? lines[start.line - 1].slice(start.column - 1, end.column - 1) : `${lines[start.line - 1].slice(start.column - 1)}…`;
      survivors.push(`${file}:${start.line}:${start.column} ${m.status} ${m.mutatorName} [${text.slice(0, 80)}] -> ${JSON.stringify(m.replacement ?? '').slice(0, 60)}`);
    }
  }
  for (const k of Object.keys(total)) total[k] += row[k];
  rows.push([file, row]);
}
const score = (r) => (r.mutants === 0 ? '—' : `${((100 * (r.Killed + r.Timeout)) / r.mutants).toFixed(1)} %`);
console.log('| file | mutants | killed | timed out | survived | no coverage | score |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [file, r] of rows) console.log(`| \`${file}\` | ${r.mutants} | ${r.Killed} | ${r.Timeout} | ${r.Survived} | ${r.NoCoverage} | ${score(r)} |`);
console.log(`| **${name}** | ${total.mutants} | ${total.Killed} | ${total.Timeout} | ${total.Survived} | ${total.NoCoverage} | **${score(total)}** |`);
if (flag === '--survivors') for (const s of survivors) console.log(s);
