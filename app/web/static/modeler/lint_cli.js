// node lint_cli.bundle.js FILE.bpmn… → one JSON line per file: the lint problems the editor would show.
// Built by the tests (tests/unit/test_modeler_lint.py) with esbuild --platform=node; not shipped.
import { readFileSync } from 'fs';
import { BpmnModdle } from 'bpmn-moddle';
import spiffworkflow from './spiffworkflow.json';
import { lint } from './lint';

async function main() {
  // the lane roles the server offers (services/modeler.py choices), as the page gives them
  globalThis.HUIYIN_MODELER = { roles: (process.env.HUIYIN_ROLES || '').split(',').filter(Boolean).map(value => ({ value })) };
  const moddle = new BpmnModdle({ spiffworkflow });
  for (const file of process.argv.slice(2)) {
    const { rootElement } = await moddle.fromXML(readFileSync(file, 'utf8'));
    console.log(JSON.stringify({ file, problems: await lint(rootElement) }));
  }
}
main().catch(e => { console.error(e); process.exit(1); });
