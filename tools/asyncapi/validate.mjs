// Parses each AsyncAPI document with the AsyncAPI project's own parser (the same one as the
// AsyncAPI CLI and Studio); exits 1 on any diagnostic of severity error.
// Usage: node tools/asyncapi/validate.mjs docs/asyncapi/*.json
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs <asyncapi document>...');
  process.exit(2);
}

const parser = new Parser();
let failed = false;
for (const file of files) {
  const path = resolve(file);
  const { document, diagnostics } = await parser.parse(await readFile(path, 'utf8'), {
    source: path,
  });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  // Errors and warnings; hints and information (such as "3.1.0 exists") are left out.
  const shown = diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning);
  for (const d of shown) {
    const where = d.path.length ? d.path.join('/') : '(document)';
    console.error(`${file}: ${SEVERITY[d.severity]} ${d.code} at ${where}: ${d.message}`);
  }
  if (document === undefined || errors.length > 0) {
    failed = true;
    console.error(`${file}: invalid (${errors.length} errors)`);
    continue;
  }
  const messages = document.allMessages().length;
  const channels = document.channels().length;
  console.log(
    `${file}: valid AsyncAPI ${document.version()}, ${channels} channel(s), ${messages} messages`,
  );
}
process.exit(failed ? 1 : 0);
